// What a training run learns from, step by step: the feeds of each step and the loss of the network's
// output. Feeds depend only on the step, so a resumed run sees exactly the batches of an uninterrupted one.

import type { Dataset, DatasetBatch } from '../data/dataset.js';
import type { Tensor } from '../engine/graph.js';
import type { HostTensor, ParamTree } from '../engine/host-tensor.js';
import { RngStream } from '../engine/rng.js';
import { tokenizeCaptions } from '../models/embeddings.js';
import { prepareBatch } from './objectives.js';
import { weightedLoss } from './loss.js';
import type { TrainConfig } from './trainer.js';

/**
 * What a run learns from: the feeds of each step (the network inputs x, noise and label or caption,
 * plus whatever `loss` reads) and the loss of the network's output. Feeds must depend only on the
 * step, so that a resumed run sees exactly the batches an uninterrupted one would have. A loss may
 * also read the outputs of modules it names in `capture` (feature distillation), read parameters
 * outside the model that never train (`frozen`, e.g. a feature network's), and return named terms
 * beside the loss, which the log records.
 */
export interface BatchSource {
  feeds(step: number): Record<string, HostTensor> | Promise<Record<string, HostTensor>>;
  loss(output: Tensor, inputs: Record<string, Tensor>, captured: ReadonlyMap<string, Tensor>): Tensor | ({ loss: Tensor } & Record<string, Tensor>);
  capture?: ReadonlySet<string>;
  frozen?: ParamTree;
}

/** The conditioning feeds of one step, with classifier-free guidance's dropout to the null condition. */
export function conditioningFeeds(config: TrainConfig, step: number, batch: Pick<DatasetBatch, 'labels' | 'captions'>): Record<string, HostTensor> {
  const dropped = RngStream.fromSeed(config.seed, 'condition-dropout', step).uniform({ start: 0, count: config.batch }, 1, new Float64Array(config.batch));
  if (config.cond === 'class') {
    if (!batch.labels) throw new Error(`dataset '${config.data}' has no class labels; use --cond none`);
    const labels = batch.labels.data.slice();
    for (let i = 0; i < labels.length; i++) if (dropped[i]! < config.labelDropout) labels[i] = BigInt(config.model.numClasses);
    return { label: { dtype: 'int64', shape: [config.batch], data: labels } };
  }
  if (config.cond === 'caption') {
    if (!batch.captions) throw new Error(`dataset '${config.data}' has no captions; use --cond none or class`);
    const captions = batch.captions.map((c, i) => (dropped[i]! < config.labelDropout ? '' : c));
    return { caption: tokenizeCaptions(captions, config.model.captionTokens) };
  }
  return {};
}

/** The objective's feeds (network input x, noise label, target, weight) for one step's clean images [batch, ...dataShape]. */
export function objectiveFeeds(config: TrainConfig, images: Float32Array, dataShape: readonly number[], step: number): Record<string, HostTensor> {
  const prepared = prepareBatch(config.objective, images, config.batch, config.seed, step);
  const shape = [config.batch, ...dataShape];
  return {
    x: { dtype: 'float32', shape, data: prepared.input },
    noise: { dtype: 'float32', shape: [config.batch], data: prepared.noiseLabel },
    target: { dtype: 'float32', shape, data: prepared.target },
    weight: { dtype: 'float32', shape: [config.batch], data: prepared.weight },
  };
}

/** The diffusion objective on fresh data: each step noises a batch of the dataset's stream. */
export function objectiveSource(config: TrainConfig, dataset: Dataset): BatchSource {
  return {
    feeds(step) {
      const batch = dataset.sample({ start: step * config.batch, count: config.batch }, config.seed);
      return { ...objectiveFeeds(config, batch.x.data, dataset.shape, step), ...conditioningFeeds(config, step, batch) };
    },
    loss: (output, inputs) => weightedLoss(output, inputs.target!, inputs.weight!),
  };
}
