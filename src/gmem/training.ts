// Training on a memory bank's images (GMem's setting: a finite training set, one snippet per image),
// and with cond 'memory' on their snippets. Each epoch visits the bank's images in a seeded order;
// each image is mirrored with probability `flip`, and a memory-conditioned model then sees the
// mirror's snippet, as GMem's training draws the snippet of the image or of its flip. The snippet is
// L2-normalised, element-wise dropped (kept ones scaled by 1/(1 − p)) and fed as the network's
// condVector, which its embedding projects and adds to the noise embedding.
//
// Optional terms, each a weight (0: off): the cosine distance between the predicted and the target
// velocity (GMem's HEAD, weight 1), and REPA's alignment of an early block's projected tokens to the
// frozen encoder's spatial features by negative cosine (GMem's HEAD, weight 0.5).
//
// The unconditional and class-conditional baselines of the experiment train on the same images,
// flips and noise (same seed): only the conditioning differs.

import type { Dataset } from '../data/dataset.js';
import { openDataset } from '../data/registry.js';
import { mirrorImages } from '../data/folder.js';
import type { Tensor } from '../engine/graph.js';
import { sameShape } from '../engine/host-tensor.js';
import * as F from '../engine/ops/index.js';
import { RngStream } from '../engine/rng.js';
import { weightedLoss } from '../train/loss.js';
import type { TrainConfig } from '../train/trainer.js';
import { type BatchSource, conditioningFeeds, objectiveFeeds } from '../train/batch-source.js';
import { BankError, type MemoryBank, loadBank } from './bank.js';
import { type SnippetEncoder, encoderMapShape, loadEncoder } from './encoder.js';

export interface MemoryTrainingSettings {
  bank: string; // bank directory: its images are the training set
  flip: number; // probability of mirroring a training image (and of taking its mirror's snippet)
  snippetDropout: number; // element-wise dropout on the normalised snippet
  cosineWeight: number; // weight of the cosine velocity term; 0: off
  repaWeight: number; // weight of REPA's alignment term; 0: off
  encoder: string | null; // encoder of REPA's targets; null: the one the bank was built with
}

export const MEMORY_TRAINING_DEFAULTS: Omit<MemoryTrainingSettings, 'bank'> = {
  flip: 0.5, // GMem: the image's or its flip's snippet with p = 0.5
  snippetDropout: 0.4, // GMem's LightningDiT setting
  cosineWeight: 0, // GMem's HEAD uses 1; off unless asked, so that a plain run is plain
  repaWeight: 0, // GMem's HEAD uses 0.5; off unless asked
  encoder: null,
};

/** The settings of `config.bank`, checked. */
export function memorySettings(config: Pick<TrainConfig, 'bank' | 'cond'>): MemoryTrainingSettings {
  const raw = config.bank as Partial<MemoryTrainingSettings> | undefined;
  if (!raw || typeof raw.bank !== 'string') throw new BankError("training on a memory bank needs its settings: { bank: DIR, ... }");
  const settings = { ...MEMORY_TRAINING_DEFAULTS, ...raw } as MemoryTrainingSettings;
  for (const key of ['flip', 'snippetDropout'] as const) {
    if (!(settings[key] >= 0 && settings[key] < 1)) throw new BankError(`bank training: '${key}' must be in [0, 1), got ${settings[key]}`);
  }
  for (const key of ['cosineWeight', 'repaWeight'] as const) {
    if (!(settings[key] >= 0)) throw new BankError(`bank training: '${key}' must be >= 0, got ${settings[key]}`);
  }
  if (config.cond !== 'memory' && settings.repaWeight > 0) throw new BankError('REPA needs a DiT trained with --cond memory in this toolkit');
  return settings;
}

/** The model settings memory training needs: the snippet width and, with REPA, a projector as wide as the encoder's maps. */
export function memoryModelSettings(bank: MemoryBank, encoder: SnippetEncoder | undefined, cond: TrainConfig['cond']): Record<string, number> {
  const out: Record<string, number> = {};
  if (cond === 'memory') out.condVectorDim = bank.dim;
  if (encoder) out.projectorDim = encoderMapShape(encoder.config)[0]!;
  return out;
}

/** Average-pools maps [n, c, m, m] on the host to [n, c, s, s] (m a multiple of s). */
function poolMaps(maps: Float32Array, n: number, c: number, m: number, s: number): Float32Array {
  if (m === s) return maps;
  const f = m / s;
  const out = new Float32Array(n * c * s * s);
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < m; y++) for (let x = 0; x < m; x++) out[plane * s * s + Math.floor(y / f) * s + Math.floor(x / f)]! += maps[plane * m * m + y * m + x]! / (f * f);
  }
  return out;
}

/** 1 − cosine similarity between rows of a and b along `axis`, averaged over everything else. */
function cosineDistance(a: Tensor, b: Tensor, axis: number): Tensor {
  const dot = F.sum(F.mul(a, b), axis);
  const norms = F.sqrt(F.add(F.mul(F.sum(F.square(a), axis), F.sum(F.square(b), axis)), 1e-12));
  return F.sub(1, F.mean(F.div(dot, norms)));
}

export interface BankSourceParts {
  bank: MemoryBank;
  dataset: Dataset;
  encoder?: SnippetEncoder; // REPA's frozen encoder
  tokenSide?: number; // REPA: side of the DiT's token grid
}

/** Opens what `config.bank` names: the bank, its dataset and, with REPA, the encoder. */
export async function openBankParts(config: Pick<TrainConfig, 'bank' | 'cond'>): Promise<BankSourceParts> {
  const settings = memorySettings(config);
  const bank = await loadBank(settings.bank);
  if (!bank.metadata.mirrored && settings.flip > 0 && config.cond === 'memory') {
    throw new BankError(`bank '${settings.bank}' has no mirrored snippets, which training with flips needs: rebuild it with --mirrored, or train with flip 0`);
  }
  if (bank.metadata.compression) throw new BankError(`bank '${settings.bank}' is compressed (${bank.metadata.compression.kind}): train on an uncompressed bank, whose entries are its images`);
  const dataset = openDataset(bank.metadata.data, { resolution: bank.metadata.resolution });
  const encoder = settings.repaWeight > 0 ? await loadEncoder(settings.encoder ?? bank.metadata.encoder) : undefined;
  if (encoder && !sameShape(encoder.config.imageShape, dataset.shape)) throw new BankError(`REPA's encoder reads ${encoder.config.imageShape.join('x')} images, the bank's are ${dataset.shape.join('x')}`);
  return { bank, dataset, encoder };
}

/** The batches of a run on a memory bank's images (see the file comment). */
export function bankSource(config: TrainConfig, { bank, dataset, encoder, tokenSide }: BankSourceParts): BatchSource {
  const settings = memorySettings(config);
  if (config.cond === 'memory') bank.checkWidth(config.model.condVectorDim, `the model (condVectorDim)`);
  const count = bank.metadata.count;
  const side = dataset.shape[1]!;
  const perImage = dataset.shape.reduce((a, b) => a * b, 1);
  const mapShape = encoder && encoderMapShape(encoder.config);
  if (mapShape && tokenSide !== undefined && mapShape[1]! % tokenSide !== 0 && tokenSide % mapShape[1]! !== 0) {
    throw new BankError(`REPA: the DiT's ${tokenSide}x${tokenSide} tokens and the encoder's ${mapShape[1]}x${mapShape[1]} maps do not pool onto one grid`);
  }
  let order: { epoch: number; permutation: Int32Array } | undefined;
  const itemAt = (position: number): number => {
    const epoch = Math.floor(position / count);
    if (order?.epoch !== epoch) order = { epoch, permutation: RngStream.fromSeed(config.seed, 'bank-epoch', epoch).permutation(count) };
    return order.permutation[position - epoch * count]!;
  };
  return {
    capture: new Set(encoder ? ['projector'] : []),
    async feeds(step) {
      const B = config.batch;
      const items = Array.from({ length: B }, (_, b) => itemAt(step * B + b));
      const batch = dataset.sample(items.map((item) => bank.metadata.start + item), bank.metadata.seed);
      const coins = RngStream.fromSeed(config.seed, 'bank-flip', step).uniform({ start: 0, count: B }, 1, new Float64Array(B));
      const flipped = Array.from(coins, (u) => u < settings.flip);
      flipped.forEach((flip, b) => flip && mirrorImages(batch.x.data.subarray(b * perImage, (b + 1) * perImage), side));
      const maps = encoder && (await encoder.encode(batch.x)).maps;
      const feeds = objectiveFeeds(config, batch.x.data, dataset.shape, step);
      if (config.cond === 'memory') {
        const snippets = bank.normalisedRows(items, flipped);
        const dim = bank.dim;
        const keep = RngStream.fromSeed(config.seed, 'snippet-dropout', step).uniform({ start: 0, count: B }, dim);
        const whole = RngStream.fromSeed(config.seed, 'condition-dropout', step).uniform({ start: 0, count: B }, 1, new Float64Array(B));
        const scale = 1 / (1 - settings.snippetDropout);
        for (let i = 0; i < snippets.length; i++) {
          // A dropped condition (classifier-free guidance's null) is the zero snippet.
          snippets[i] = keep[i]! < settings.snippetDropout || whole[Math.floor(i / dim)]! < config.labelDropout ? 0 : snippets[i]! * scale;
        }
        feeds.condVector = { dtype: 'float32', shape: [B, dim], data: snippets };
      } else {
        Object.assign(feeds, conditioningFeeds(config, step, batch));
      }
      if (maps && mapShape) {
        const [c, m] = mapShape as [number, number];
        const s = Math.min(m, tokenSide ?? m);
        feeds.repaTarget = { dtype: 'float32', shape: [B, c, s, s], data: poolMaps(maps, B, c, m, s) };
      }
      return feeds;
    },
    loss(output, inputs, captured) {
      let total = weightedLoss(output, inputs.target!, inputs.weight!);
      if (settings.cosineWeight > 0) {
        const flat = (t: Tensor): Tensor => F.reshape(t, [t.shape[0]!, -1]);
        total = F.add(total, F.mul(cosineDistance(flat(output), flat(inputs.target!), 1), settings.cosineWeight));
      }
      const projected = captured.get('projector');
      if (settings.repaWeight > 0 && projected && inputs.repaTarget) {
        const [B, T, P] = projected.shape as [number, number, number];
        const grid = Math.round(Math.sqrt(T));
        const target = inputs.repaTarget;
        const s = target.shape[2]!;
        let tokens = F.reshape(F.transpose(projected, [0, 2, 1]), [B, P, grid, grid]);
        if (grid > s) tokens = F.avgPool2d(tokens, grid / s);
        total = F.add(total, F.mul(cosineDistance(tokens, target, 1), settings.repaWeight));
      }
      return total;
    },
  };
}
