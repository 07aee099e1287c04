// The frozen encoder of a memory bank: a small CNN trained without labels (SimCLR's contrastive
// objective over two augmented views of each image), standing in for GMem's DINOv2. It must not be
// the evaluation network (models/features-shapes), or a bank built from it would grade its own
// homework: it has its own weights, its own objective and never sees a label.
//
// Outputs: `snippet` [B, snippetDim], the raw representation a bank stores (GMem's CLS token; it is
// L2-normalised at use), and `map` [B, C, h, w], the last stage's spatial features that REPA aligns a
// diffusion transformer's tokens to. Training adds a projection head (`projector`) after the snippet,
// as SimCLR does: the contrastive loss is taken on its output, so the snippet keeps what the loss
// would discard (colour, size and position survive better below the head).

import { existsSync } from 'node:fs';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Dataset, DatasetError } from '../data/dataset.js';
import { openDataset } from '../data/registry.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../engine/checkpoint.js';
import { loadParamsInto, underPrefix, withPrefix } from '../engine/checkpoint-format.js';
import { prepareRunFolder } from '../engine/run-folder.js';
import type { Tensor } from '../engine/graph.js';
import { type HostTensor, numel, type ParamTree, sameShape } from '../engine/host-tensor.js';
import * as F from '../engine/ops/index.js';
import { learningRateSchedule } from '../engine/optim.js';
import { RngStream } from '../engine/rng.js';
import { type CompiledFunction, compile, traceFunction } from '../engine/runtime.js';
import { OPTIMIZER_STATE_PREFIX } from '../engine/state-names.js';
import { TrainStep } from '../engine/train-step.js';
import { TrainingLoop } from '../engine/training-loop.js';
import { averageAndMaxPool, convStages, crossEntropy } from '../eval/feature-net.js';
import { type DeclaredParam, declaredParams, initDeclared } from '../models/init.js';
import { linear } from '../models/layers.js';
import { ModuleContext } from '../models/module-context.js';
import { shippedModelsDir } from '../paths.js';
import { AUGMENT_DEFAULTS, type AugmentSettings, twoViews } from './augment.js';

export interface EncoderArchitecture {
  stageWidths: number[]; // channels of each stride-2 stage (see convStages)
  groups: number; // GroupNorm groups
  snippetDim: number; // width of a snippet: what the bank stores per image
  projectorHidden: number; // hidden width of the training-only projection head
  projectionDim: number; // output width of the projection head, where the contrastive loss is taken
}

export const ENCODER_DEFAULTS: Readonly<EncoderArchitecture> = {
  stageWidths: [32, 64, 128], // the evaluation network's stages: 32x32 -> 4x4 maps in ~20 MFLOP per image
  groups: 8,
  snippetDim: 128, // DINOv2's 768 scaled to 32x32 images of one object
  projectorHidden: 256, // SimCLR: a two-layer head as wide as the representation or wider
  projectionDim: 64,
};

export interface EncoderConfig extends EncoderArchitecture {
  arch: 'ssl-encoder';
  data: string; // dataset spec it was trained on
  imageShape: number[]; // [channels, height, width] it reads
}

export function checkEncoderConfig(config: Record<string, unknown>): EncoderConfig {
  const problem = (why: string): Error => new Error(`encoder config: ${why}`);
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (config.arch !== 'ssl-encoder') throw problem(`'arch' must be 'ssl-encoder', got ${JSON.stringify(config.arch)}`);
  if (typeof config.data !== 'string') throw problem(`'data' must be a dataset spec, got ${JSON.stringify(config.data)}`);
  for (const key of ['groups', 'snippetDim', 'projectorHidden', 'projectionDim'] as const) {
    if (!isCount(config[key])) throw problem(`'${key}' must be a positive integer, got ${JSON.stringify(config[key])}`);
  }
  for (const key of ['imageShape', 'stageWidths'] as const) {
    const value = config[key];
    if (!Array.isArray(value) || value.length === 0 || !value.every(isCount)) throw problem(`'${key}' must be a list of positive integers, got ${JSON.stringify(value)}`);
  }
  const checked = config as unknown as EncoderConfig;
  if (checked.imageShape.length !== 3 || checked.imageShape[0] !== 3 || checked.imageShape[1] !== checked.imageShape[2]) {
    throw problem(`'imageShape' must be [3, side, side], got ${JSON.stringify(checked.imageShape)}`);
  }
  const narrow = checked.stageWidths.find((width) => width % checked.groups !== 0);
  if (narrow !== undefined) throw problem(`width ${narrow} does not divide into ${checked.groups} groups`);
  return checked;
}

export interface EncoderOutputs {
  snippet: Tensor;
  map: Tensor;
}

/** The encoder on images [B, 3, r, r]; `projection` only when asked (training). */
export function encoderForward(ctx: ModuleContext, config: EncoderConfig, x: Tensor, withProjection = false): EncoderOutputs & { projection?: Tensor } {
  const map = convStages(ctx, config, x);
  const snippet = linear(ctx, 'snippet', averageAndMaxPool(map), config.snippetDim);
  if (!withProjection) return { snippet, map };
  const projection = ctx.module('projector', () => linear(ctx, 'out', F.silu(linear(ctx, 'hidden', snippet, config.projectorHidden)), config.projectionDim));
  return { snippet, map, projection };
}

/** Shape of one image's spatial features: [channels, side, side]. */
export function encoderMapShape(config: EncoderConfig): number[] {
  const side = config.imageShape[1]! / 2 ** config.stageWidths.length;
  return [config.stageWidths.at(-1)!, Math.max(1, Math.ceil(side)), Math.max(1, Math.ceil(side))];
}

function encoderParams(config: EncoderConfig, withProjection: boolean): Map<string, DeclaredParam> {
  return declaredParams((g, { x }) => {
    const { projection, ...rest } = encoderForward(new ModuleContext(g), config, x!, withProjection);
    return projection ? { ...rest, projection } : { ...rest };
  }, { x: { shape: [1, ...config.imageShape], dtype: 'float32' } });
}

/** L2-normalises the rows of [B, D]. */
export function l2Normalize(x: Tensor, epsilon = 1e-8): Tensor {
  return F.div(x, F.sqrt(F.add(F.sum(F.square(x), -1, true), epsilon)));
}

/**
 * SimCLR's NT-Xent loss on projections [2n, P], rows i and n + i the two views of image i: each view
 * must pick its partner among the other 2n − 1 views by cosine similarity / temperature. Also returns
 * the fraction of views whose nearest other view is their partner.
 */
export function contrastiveLoss(projection: Tensor, temperature: number): { loss: Tensor; accuracy: Tensor } {
  const rows = projection.shape[0]!;
  const half = rows / 2;
  const z = l2Normalize(projection);
  const self = new Float32Array(rows * rows);
  const partner = new Float32Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    self[i * rows + i] = 1e4; // a view is never its own partner: exp(-1e4 / ...) is exactly 0
    partner[i * rows + ((i + half) % rows)] = 1;
  }
  const graph = projection.graph;
  const similarity = F.sub(F.div(F.matmul(z, F.transpose(z, [1, 0])), temperature), graph.constant({ dtype: 'float32', shape: [rows, rows], data: self }));
  const target = graph.constant({ dtype: 'float32', shape: [rows, rows], data: partner });
  const hits = F.cast(F.equal(similarity, F.max(similarity, -1, true)), 'float32');
  return { loss: crossEntropy(similarity, target), accuracy: F.mean(F.sum(F.mul(hits, target), -1)) };
}

/** A trained encoder, compiled for inference on first use. */
export class SnippetEncoder {
  private compiled?: CompiledFunction;

  constructor(readonly config: EncoderConfig, readonly params: ParamTree, private readonly threads?: number) {}

  get snippetDim(): number {
    return this.config.snippetDim;
  }

  /** Snippets [n, snippetDim] and, when asked, spatial maps [n, ...encoderMapShape] of images [n, ...imageShape] in [-1, 1]. */
  async encode(images: HostTensor<'float32'>): Promise<{ snippets: Float32Array; maps: Float32Array }> {
    const [n, ...shape] = images.shape;
    if (!sameShape(shape, this.config.imageShape) || !(n! >= 1)) {
      throw new Error(`encoder (trained on ${this.config.data}) reads images [n, ${this.config.imageShape.join(', ')}], got [${images.shape.join(', ')}]`);
    }
    this.compiled ??= compile((g, { x }) => ({ ...encoderForward(new ModuleContext(g), this.config, x!) }), { params: this.params, threads: this.threads, name: 'snippet_encoder' });
    const result = await this.compiled.run({ x: images });
    return { snippets: result.snippet!.data as Float32Array, maps: result.map!.data as Float32Array };
  }

  async dispose(): Promise<void> {
    await this.compiled?.dispose();
    this.compiled = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Training (resumable), saving and loading.

export interface EncoderTrainingSettings {
  steps: number; // optimizer steps
  batch: number; // images per step (two views each)
  seed: number; // seeds initialisation, data order and views
  lr: number; // peak AdamW learning rate
  warmup: number; // linear warm-up steps, then a cosine decay to zero at `steps`
  temperature: number; // NT-Xent temperature
  checkpointEvery: number; // steps between checkpoints
}

export const ENCODER_TRAINING_DEFAULTS: Readonly<EncoderTrainingSettings> = {
  steps: 3000, // 192,000 images, 384,000 views: about 20 minutes on two shared cores
  batch: 64, // 126 negatives per view
  seed: 0,
  lr: 2e-3, // the feature network's 3e-3 less a little, for the noisier contrastive gradient
  warmup: 100,
  temperature: 0.2, // SimCLR's best range is 0.1-0.5
  checkpointEvery: 100,
};

export interface EncoderTrainingRecord extends EncoderTrainingSettings {
  augment: AugmentSettings;
  resolution: number;
}

export interface TrainEncoderOptions {
  data: string; // an image dataset spec; its labels, if any, are never read
  out: string; // run directory: checkpoint/ (resumable state) and log.jsonl
  resolution?: number;
  settings?: Partial<EncoderTrainingSettings>;
  architecture?: Partial<EncoderArchitecture>;
  augment?: Partial<AugmentSettings>;
  resume?: boolean; // continue out/checkpoint with its saved settings; settings.steps, if given, sets the new total
  overwrite?: boolean; // replace the run out holds (without it, or resume, a run there is an error)
  threads?: number;
  onStep?: (step: number, metrics: { loss: number; accuracy: number; lr: number }, totalSteps: number) => void;
  shouldStop?: () => boolean; // checked after every step: true saves a checkpoint and returns
}


function openImages(spec: string, resolution: number | undefined): Dataset {
  const dataset = openDataset(spec, { resolution });
  if (dataset.kind !== 'images' || dataset.shape[0] !== 3) throw new DatasetError(`'${spec}' is not a dataset of RGB images: an encoder reads images`);
  return dataset;
}

/** Trains (or resumes) a self-supervised encoder into `out`; returns the encoder at the step reached. */
export async function trainEncoder(options: TrainEncoderOptions): Promise<{ encoder: SnippetEncoder; step: number; stopped: boolean; record: EncoderTrainingRecord }> {
  const ckpt = join(options.out, 'checkpoint');
  prepareRunFolder({ dir: options.out, what: 'an encoder training run', files: ['checkpoint', 'log.jsonl', 'encoder'] }, { resume: options.resume, overwrite: options.overwrite });
  let config: EncoderConfig;
  let record: EncoderTrainingRecord;
  let params: ParamTree;
  let optimizerState: Map<string, HostTensor> | undefined;
  let start = 0;
  if (options.resume) {
    if (!existsSync(join(ckpt, 'checkpoint.json'))) throw new Error(`--resume: no encoder checkpoint in ${ckpt}`);
    const loaded = await loadCheckpoint(ckpt);
    const saved = loaded.config as { model: EncoderConfig; training: EncoderTrainingRecord };
    config = checkEncoderConfig(saved.model as unknown as Record<string, unknown>);
    start = loaded.step ?? 0;
    // The total may be raised to train on, or lowered (not below the step reached) to end the cosine decay sooner.
    const steps = options.settings?.steps ?? saved.training.steps;
    if (!Number.isSafeInteger(steps) || steps < start) throw new RangeError(`trainEncoder: the run is at step ${start}; --steps must be at least that, got ${steps}`);
    record = { ...saved.training, steps };
    params = loadParamsInto(encoderParams(config, true), loaded.params, loaded.files.weights);
    optimizerState = underPrefix(OPTIMIZER_STATE_PREFIX, loaded.extra);
  } else {
    const dataset = openImages(options.data, options.resolution);
    const settings = { ...ENCODER_TRAINING_DEFAULTS, ...options.settings };
    for (const key of ['steps', 'batch', 'checkpointEvery'] as const) {
      if (!Number.isSafeInteger(settings[key]) || settings[key] < 1) throw new RangeError(`trainEncoder: ${key} must be a positive integer, got ${settings[key]}`);
    }
    if (!(settings.temperature > 0)) throw new RangeError(`trainEncoder: temperature must be > 0, got ${settings.temperature}`);
    config = checkEncoderConfig({ arch: 'ssl-encoder', data: dataset.name, imageShape: [...dataset.shape], ...ENCODER_DEFAULTS, ...options.architecture });
    record = { ...settings, augment: { ...AUGMENT_DEFAULTS, ...options.augment }, resolution: dataset.shape[1]! };
    params = initDeclared(encoderParams(config, true), RngStream.fromSeed(settings.seed, 'encoder-init'));
  }
  const dataset = openImages(config.data, record.resolution);
  const { batch, seed, temperature } = record;
  const side = config.imageShape[1]!;
  const trainStep = new TrainStep(params, (graph, { x }) => contrastiveLoss(encoderForward(new ModuleContext(graph), config, x!, true).projection!, temperature), { threads: options.threads });
  if (optimizerState) trainStep.loadStateTensors(optimizerState, ckpt);
  const schedule = learningRateSchedule({ peak: record.lr, warmupSteps: record.warmup, decay: 'cosine', totalSteps: Math.max(record.steps, record.warmup + 1) });
  const save = (step: number): Promise<unknown> =>
    saveCheckpoint(ckpt, { params: trainStep.params, config: { model: config, training: record }, extra: withPrefix(OPTIMIZER_STATE_PREFIX, trainStep.stateTensors()), step });
  mkdirSync(options.out, { recursive: true });
  const log = join(options.out, 'log.jsonl');
  const started = performance.now();
  const loop = new TrainingLoop(trainStep, { learningRate: schedule, what: 'encoder training', advice: `The last good checkpoint is in ${ckpt}. Try a lower lr.` }, start);
  let stopped = false;
  try {
    const feedsAt = (at: number): Record<string, HostTensor> => {
      const images = dataset.sample({ start: at * batch, count: batch }, seed).x.data;
      return { x: { dtype: 'float32', shape: [2 * batch, ...config.imageShape], data: twoViews(images, batch, side, seed, at, record.augment) } };
    };
    ({ stopped } = await loop.run(record.steps, feedsAt, async ({ step, loss, metrics: { accuracy }, lr }) => {
      const metrics = { loss, accuracy: accuracy!, lr };
      if (step % 10 === 0) appendFileSync(log, `${JSON.stringify({ step, ...metrics, seconds: (performance.now() - started) / 1000 })}\n`);
      options.onStep?.(step, metrics, record.steps);
      const stopRequested = options.shouldStop?.() ?? false;
      if (step % record.checkpointEvery === 0 || step === record.steps || stopRequested) await save(step);
      return stopRequested;
    }));
  } finally {
    await trainStep.dispose();
  }
  const step = loop.step;
  const inference = new Map([...encoderParams(config, false).keys()].map((name) => [name, trainStep.params.get(name)!]));
  return { encoder: new SnippetEncoder(config, inference, options.threads), step, stopped, record };
}

/** Saves the inference weights (no projection head, no optimizer) as a checkpoint directory. */
export async function saveEncoder(dir: string, encoder: SnippetEncoder, record: object | null = null): Promise<void> {
  await saveCheckpoint(dir, { params: encoder.params, config: { model: encoder.config, training: record } });
}

/** The checkpoint directory of an encoder given by shipped name (models/NAME) or path: a saved encoder or a training run's directory. */
export function encoderDir(nameOrPath: string): string {
  const candidates = [join(shippedModelsDir(), nameOrPath), join(nameOrPath, 'checkpoint'), nameOrPath];
  const dir = candidates.find((candidate) => existsSync(join(candidate, 'checkpoint.json')));
  if (!dir) throw new Error(`no encoder '${nameOrPath}': neither a shipped encoder (models/${nameOrPath}) nor a directory holding checkpoint.json`);
  return dir;
}

/** Shipped snippet encoders under models/, by dataset name and image shape. */
const SHIPPED_ENCODERS: readonly { data: string; imageShape: readonly number[]; dir: string }[] = [{ data: 'shapes', imageShape: [3, 32, 32], dir: 'encoder-shapes' }];

/** The directory of the snippet encoder shipped for a dataset, or undefined when none ships for it. */
export function shippedEncoderDir(dataset: Pick<Dataset, 'name' | 'shape'>): string | undefined {
  const found = SHIPPED_ENCODERS.find((s) => s.data === dataset.name && sameShape(s.imageShape, dataset.shape));
  return found && join(shippedModelsDir(), found.dir);
}

/** Loads an encoder by shipped name (models/NAME) or path: a saved encoder or a training run's directory. */
export async function loadEncoder(nameOrPath: string, threads?: number): Promise<SnippetEncoder> {
  const loaded = await loadCheckpoint(encoderDir(nameOrPath));
  const model = (loaded.config as { model?: unknown }).model;
  let config: EncoderConfig;
  try {
    if (typeof model !== 'object' || model === null) throw new Error('no "model" config');
    config = checkEncoderConfig(model as Record<string, unknown>);
  } catch (error) {
    throw new CheckpointError(loaded.files.config, `not a snippet encoder: ${(error as Error).message}`);
  }
  const params = loadParamsInto(encoderParams(config, false), loaded.params, loaded.files.weights, { allowUnexpected: true });
  return new SnippetEncoder(config, params, threads);
}

/** Bytes of one encoded image's outputs, for bounding memory up front. */
export const snippetBytes = (config: EncoderConfig): number => 4 * (config.snippetDim + numel(encoderMapShape(config)));
