// The evaluation feature network: a small CNN classifier trained on a labelled image dataset. FD and
// KID are measured in its feature space (the layer its classification head reads), and its
// predictions on class-conditional samples say whether a model draws the class it was asked for.
// Nothing pretrained can be downloaded, so the toolkit trains and ships its own (models/features-shapes,
// trained by `hasten train-features`; see docs/models.md).
//
// Architecture: stages, each a stride-2 conv then a conv (every conv followed by GroupNorm and SiLU)
// -> global average and max pools side by side -> feature layer (linear, LayerNorm, SiLU) -> linear
// head. Three stages take 32x32 images to 4x4 maps of 128 channels in ~20 MFLOP per image; no layer
// runs at full resolution, where the memory-bound norm and activation passes would cost more than the
// convolutions. The max pool finds a small shape that lights up one position, which the average alone
// dilutes (it trained faster in short runs); the average keeps the image's overall colour, which FD must see.

import { join } from 'node:path';
import { type Dataset, DatasetError } from '../data/dataset.js';
import { openDataset } from '../data/registry.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../engine/checkpoint.js';
import { loadParamsInto } from '../engine/checkpoint-format.js';
import type { Tensor } from '../engine/graph.js';
import { type HostTensor, numel, type ParamTree, sameShape } from '../engine/host-tensor.js';
import * as F from '../engine/ops/index.js';
import { learningRateSchedule } from '../engine/optim.js';
import { RngStream } from '../engine/rng.js';
import { type CompiledFunction, compile, traceFunction } from '../engine/runtime.js';
import { TrainStep } from '../engine/train-step.js';
import { TrainingLoop } from '../engine/training-loop.js';
import { conv, groupNorm, linear } from '../models/layers.js';
import { ModuleContext } from '../models/module-context.js';
import { declaredParams, initDeclared } from '../models/init.js';
import { shippedModelsDir } from '../paths.js';
import { prepareRunFolder } from '../engine/run-folder.js';

export interface FeatureNetArchitecture {
  stageWidths: number[]; // channels of each stride-2 stage
  groups: number; // GroupNorm groups; must divide every width
  featureDim: number; // width of the feature layer: the space FD and KID are measured in
}

export const FEATURE_NET_DEFAULTS: Readonly<FeatureNetArchitecture> = {
  stageWidths: [32, 64, 128], // three halvings take 32x32 to 4x4, small enough for a global pool to keep the shape
  groups: 8, // 4 channels per group in the first stage
  featureDim: 128, // rich enough for FD between image distributions, small enough for its 128x128 matrices
};

/** What a saved feature network records: its architecture and what it was trained to see. */
export interface FeatureNetConfig extends FeatureNetArchitecture {
  arch: 'feature-net';
  data: string; // spec of the dataset it was trained on, e.g. 'shapes'
  imageShape: number[]; // [channels, height, width] of the images it reads
  numClasses: number;
  classNames: string[] | null;
}

/** Throws, naming the setting, unless `config` is a usable FeatureNetConfig. */
export function checkFeatureNetConfig(config: Record<string, unknown>): FeatureNetConfig {
  const problem = (why: string): Error => new Error(`feature net config: ${why}`);
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (config.arch !== 'feature-net') throw problem(`'arch' must be 'feature-net', got ${JSON.stringify(config.arch)}`);
  if (typeof config.data !== 'string') throw problem(`'data' must be a dataset spec, got ${JSON.stringify(config.data)}`);
  for (const key of ['groups', 'featureDim', 'numClasses'] as const) {
    if (!isCount(config[key])) throw problem(`'${key}' must be a positive integer, got ${JSON.stringify(config[key])}`);
  }
  for (const key of ['imageShape', 'stageWidths'] as const) {
    const value = config[key];
    if (!Array.isArray(value) || value.length === 0 || !value.every(isCount)) throw problem(`'${key}' must be a list of positive integers, got ${JSON.stringify(value)}`);
  }
  const { imageShape, stageWidths, groups, numClasses, classNames } = config as unknown as FeatureNetConfig;
  if (imageShape.length !== 3) throw problem(`'imageShape' must be [channels, height, width], got ${JSON.stringify(imageShape)}`);
  const narrow = stageWidths.find((width) => width % groups !== 0);
  if (narrow !== undefined) throw problem(`width ${narrow} does not divide into ${groups} groups`);
  if (classNames !== null && !(Array.isArray(classNames) && classNames.length === numClasses && classNames.every((n) => typeof n === 'string'))) {
    throw problem(`'classNames' must be null or ${numClasses} strings, got ${JSON.stringify(classNames)}`);
  }
  return config as unknown as FeatureNetConfig;
}

/** The convolutional stages `stages.<i>` (a stride-2 conv then a conv, each with GroupNorm and SiLU): images -> the last stage's map [B, C, H/2^n, W/2^n]. */
export function convStages(ctx: ModuleContext, { stageWidths, groups }: Pick<FeatureNetArchitecture, 'stageWidths' | 'groups'>, x: Tensor): Tensor {
  const convNormAct = (name: string, input: Tensor, width: number, stride = 1): Tensor =>
    ctx.module(name, () => F.silu(groupNorm(ctx, 'norm', conv(ctx, 'conv', input, width, 3, { stride }), groups)));
  let h = x;
  stageWidths.forEach((width, i) => {
    const input = h;
    h = ctx.module(`stages.${i}`, () => convNormAct('conv1', convNormAct('conv0', input, width, 2), width));
  });
  return h;
}

/** Global average and max pools side by side: [B, C, H, W] -> [B, 2C]. */
export const averageAndMaxPool = (map: Tensor): Tensor => F.concat([F.mean(map, [2, 3]), F.max(map, [2, 3])], 1);

/** The network on images x [B, ...imageShape]: features [B, featureDim] and logits [B, numClasses]. */
export function featureNetForward(ctx: ModuleContext, config: FeatureNetConfig, x: Tensor): { features: Tensor; logits: Tensor } {
  const pooled = averageAndMaxPool(convStages(ctx, config, x));
  // Standardised (LayerNorm without gain) before the SiLU, so features are O(1) whatever training did to
  // the weights: KID's cubic kernel (x·y/d + 1)³ assumes that scale, and rare images with huge
  // features would otherwise dominate its estimate and FD's covariances.
  const features = F.silu(F.layerNorm(linear(ctx, 'features', pooled, config.featureDim)));
  return { features, logits: linear(ctx, 'head', features, config.numClasses) };
}

/** Parameter shapes of a config, in declaration order (traced once at batch 1). */
export function featureNetParamShapes(config: FeatureNetConfig): Map<string, number[]> {
  const { graph } = traceFunction((g, { x }) => featureNetForward(new ModuleContext(g), config, x!), { x: { shape: [1, ...config.imageShape], dtype: 'float32' } });
  return new Map([...graph.params].map(([name, t]) => [name, [...t.shape]]));
}

/**
 * Fresh parameters, drawn as the layers declare them (conv and linear weights LeCun-uniform, bound
 * √(3 / fan-in); norm gains one; biases zero), each from its own stream derived from the seed and its name.
 */
export function initFeatureNetParams(config: FeatureNetConfig, seed: number): ParamTree {
  const declared = declaredParams((g, { x }) => featureNetForward(new ModuleContext(g), config, x!), { x: { shape: [1, ...config.imageShape], dtype: 'float32' } });
  return initDeclared(declared, RngStream.fromSeed(seed, 'feature-net-init'));
}

/** log(softmax(x)) over the last axis, as x − max − log(Σ exp(x − max)): no exp overflows and no log sees 0. */
export function logSoftmax(logits: Tensor): Tensor {
  const shifted = F.sub(logits, F.max(logits, -1, true));
  return F.sub(shifted, F.log(F.sum(F.exp(shifted), -1, true)));
}

/** Mean cross-entropy of logits [B, K] against target distributions [B, K] (one-hot labels). */
export function crossEntropy(logits: Tensor, target: Tensor): Tensor {
  return F.neg(F.mean(F.sum(F.mul(target, logSoftmax(logits)), -1)));
}

/** One-hot rows [n, numClasses] of int64 labels. */
export function oneHot(labels: HostTensor<'int64'>, numClasses: number): HostTensor<'float32'> {
  const n = labels.data.length;
  const data = new Float32Array(n * numClasses);
  labels.data.forEach((label, i) => {
    const k = Number(label);
    if (!(k >= 0 && k < numClasses)) throw new RangeError(`oneHot: label ${k} is outside [0, ${numClasses})`);
    data[i * numClasses + k] = 1;
  });
  return { dtype: 'float32', shape: [n, numClasses], data };
}

/** The fraction of rows of logits (n × numClasses) whose largest entry is at the row's label. */
export function classAccuracy(logits: Float64Array, numClasses: number, labels: HostTensor<'int64'>): number {
  const { correct, total } = classHits(logits, numClasses, labels);
  return correct.reduce((a, b) => a + b, 0) / total.reduce((a, b) => a + b, 0);
}

/** Per class, the fraction of the images labelled with it that the network puts in it (NaN for a class with no images). */
export function perClassAccuracy(logits: Float64Array, numClasses: number, labels: HostTensor<'int64'>): number[] {
  const { correct, total } = classHits(logits, numClasses, labels);
  return correct.map((hits, k) => (total[k]! > 0 ? hits / total[k]! : NaN));
}

function classHits(logits: Float64Array, numClasses: number, labels: HostTensor<'int64'>): { correct: number[]; total: number[] } {
  const n = labels.data.length;
  if (logits.length !== n * numClasses) throw new Error(`classAccuracy: ${logits.length} logits do not make ${n} rows of ${numClasses}`);
  const correct = new Array<number>(numClasses).fill(0);
  const total = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < n; i++) {
    const label = Number(labels.data[i]);
    if (!(label >= 0 && label < numClasses)) throw new Error(`classAccuracy: label ${label} is outside 0..${numClasses - 1}`);
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (logits[i * numClasses + k]! > logits[i * numClasses + best]!) best = k;
    total[label]!++;
    if (best === label) correct[label]!++;
  }
  return { correct, total };
}

export interface FeatureBatch {
  /** Feature vectors, n × featureDim row-major. */
  features: Float64Array;
  /** Class logits, n × numClasses row-major. */
  logits: Float64Array;
}

export interface FeatureNetOptions {
  /** Images per inference call (default 256); the last partial batch is zero-padded so one compiled session serves every call. */
  batchSize?: number;
  threads?: number; // ONNX Runtime intra-op threads; defaults to all cores
}

/** A feature network with its weights, compiled for inference on first use. */
export class FeatureNet {
  private compiled?: CompiledFunction;
  private readonly batchSize: number;

  constructor(readonly config: FeatureNetConfig, readonly params: ParamTree, private readonly options: FeatureNetOptions = {}) {
    this.batchSize = options.batchSize ?? 256;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new RangeError(`FeatureNet: batchSize must be a positive integer, got ${this.batchSize}`);
  }

  /** Features and logits of images [n, ...imageShape] (float32 in [-1, 1], as datasets give them). */
  async features(images: HostTensor<'float32'>): Promise<FeatureBatch> {
    const { imageShape, featureDim, numClasses } = this.config;
    const [n, ...shape] = images.shape;
    if (!sameShape(shape, imageShape) || !(n! >= 1)) {
      throw new Error(`feature net (trained on ${this.config.data}) reads images [n, ${imageShape.join(', ')}] with n >= 1, got [${images.shape.join(', ')}]`);
    }
    this.compiled ??= compile((g, { x }) => featureNetForward(new ModuleContext(g), this.config, x!), { params: this.params, threads: this.options.threads, name: 'feature_net' });
    const perImage = numel(imageShape);
    const batch = Math.min(this.batchSize, n!);
    const out: FeatureBatch = { features: new Float64Array(n! * featureDim), logits: new Float64Array(n! * numClasses) };
    for (let start = 0; start < n!; start += batch) {
      const count = Math.min(batch, n! - start);
      const rows = images.data.subarray(start * perImage, (start + count) * perImage);
      const padded = count === batch ? rows : new Float32Array(batch * perImage);
      if (padded !== rows) padded.set(rows);
      const result = await this.compiled.run({ x: { dtype: 'float32', shape: [batch, ...imageShape], data: padded } });
      out.features.set(result.features!.data.subarray(0, count * featureDim) as Float32Array, start * featureDim);
      out.logits.set(result.logits!.data.subarray(0, count * numClasses) as Float32Array, start * numClasses);
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.compiled?.dispose();
    this.compiled = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Training, saving and loading.

export interface FeatureTrainingSettings {
  steps: number; // optimizer steps
  batch: number; // images per step
  seed: number; // seeds initialisation, data order and augmentation
  lr: number; // peak AdamW learning rate
  warmup: number; // linear warm-up steps, then a cosine decay to zero
  pixelNoise: number; // std of Gaussian noise added to training pixels in [-1, 1], so generated images' grain does not fool the classifier
  heldOut: number; // fresh samples the final accuracy is measured on
}

export const FEATURE_TRAINING_DEFAULTS: Readonly<FeatureTrainingSettings> = {
  steps: 1500, // 48k images: 99.5% held-out accuracy on shapes in under five minutes on two shared cores
  batch: 32, // more updates per image than 64, which learned slower per second
  seed: 0,
  lr: 3e-3, // better than 1e-3 and 1e-2 in short runs on shapes; the cosine decay settles it
  warmup: 50, // keeps Adam's first steps, with unreliable moment estimates, small
  pixelNoise: 0.05, // about 2.5% of the pixel range, far below what changes a shape
  heldOut: 2000, // accuracy to ±0.3% at 98%
};

export interface TrainFeatureNetOptions extends Partial<FeatureTrainingSettings> {
  resolution?: number; // image side for datasets that take one (default: the dataset's)
  architecture?: Partial<FeatureNetArchitecture>;
  threads?: number; // ONNX Runtime intra-op threads; defaults to all cores
  /** Called after every step with its loss, batch accuracy and learning rate. */
  onStep?: (step: number, metrics: { loss: number; accuracy: number; lr: number }) => void;
}

/** How a feature network was trained and how well it classifies; stored beside its weights. */
export interface FeatureTrainingRecord extends FeatureTrainingSettings {
  resolution: number;
  seconds: number; // wall time of the training steps
  finalLoss: number; // loss of the last step
  accuracy: number; // classification accuracy on `heldOut` samples
  accuracyIsHeldOut: boolean; // false for finite datasets (folders), whose every item may have been trained on
}

export interface TrainedFeatureNet {
  net: FeatureNet;
  record: FeatureTrainingRecord;
}

function openLabelledImages(spec: string, resolution: number | undefined): Dataset {
  const dataset = openDataset(spec, { resolution });
  if (dataset.kind !== 'images') throw new DatasetError(`'${spec}' is a dataset of points: the feature network is for image datasets`);
  if (!dataset.numClasses || dataset.numClasses < 2) throw new DatasetError(`'${spec}' has no class labels (at least two classes) to train a feature network on`);
  return dataset;
}

/**
 * Trains a feature network on the labelled image dataset `spec` with cross-entropy and AdamW, then
 * measures its accuracy on samples after the training stream (fresh draws for generative datasets).
 */
export async function trainFeatureNet(spec: string, options: TrainFeatureNetOptions = {}): Promise<TrainedFeatureNet> {
  const settings: FeatureTrainingSettings = { ...FEATURE_TRAINING_DEFAULTS };
  for (const key of Object.keys(FEATURE_TRAINING_DEFAULTS) as (keyof FeatureTrainingSettings)[]) if (options[key] !== undefined) settings[key] = options[key];
  const { steps, batch, seed, lr, warmup, pixelNoise, heldOut } = settings;
  for (const [key, value] of Object.entries({ steps, batch, heldOut })) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`trainFeatureNet: ${key} must be a positive integer, got ${value}`);
  }
  const dataset = openLabelledImages(spec, options.resolution);
  const config = checkFeatureNetConfig({
    arch: 'feature-net', data: dataset.name, imageShape: [...dataset.shape], numClasses: dataset.numClasses!, classNames: dataset.classNames ? [...dataset.classNames] : null,
    ...FEATURE_NET_DEFAULTS, ...options.architecture,
  });
  const perImage = numel(config.imageShape);
  const trainStep = new TrainStep(initFeatureNetParams(config, seed), (graph, { x, target }) => {
    const { logits } = featureNetForward(new ModuleContext(graph), config, x!);
    const loss = crossEntropy(logits, target!);
    // Ties at the maximum count as hits: they do not happen with trained float logits.
    const hits = F.cast(F.equal(logits, F.max(logits, -1, true)), 'float32');
    return { loss, accuracy: F.mean(F.sum(F.mul(hits, target!), -1)) };
  }, { threads: options.threads });

  const augmentation = RngStream.fromSeed(seed, 'feature-net-pixel-noise');
  const feedsAt = (step: number): Record<string, HostTensor> => {
    const sample = dataset.sample({ start: step * batch, count: batch }, seed);
    const x = sample.x.data;
    if (pixelNoise > 0) {
      const noise = augmentation.normal({ start: step * batch, count: batch }, perImage);
      for (let i = 0; i < x.length; i++) x[i] += pixelNoise * noise[i]!;
    }
    return { x: sample.x, target: oneHot(sample.labels!, config.numClasses) };
  };

  const schedule = learningRateSchedule({ peak: lr, warmupSteps: warmup, decay: 'cosine', totalSteps: Math.max(steps, warmup + 1) });
  const started = performance.now();
  let finalLoss = NaN;
  try {
    const loop = new TrainingLoop(trainStep, { learningRate: schedule, what: 'feature net training', advice: 'Try a lower lr.' });
    const { last } = await loop.run(steps, feedsAt, ({ step, loss, metrics, lr }) => {
      options.onStep?.(step, { loss, accuracy: metrics.accuracy!, lr });
    });
    finalLoss = last?.loss ?? NaN;
  } finally {
    await trainStep.dispose();
  }
  const seconds = (performance.now() - started) / 1000;

  const net = new FeatureNet(config, trainStep.params, { threads: options.threads });
  const evaluation = dataset.sample({ start: steps * batch, count: heldOut }, seed);
  const { logits } = await net.features(evaluation.x);
  const accuracy = classAccuracy(logits, config.numClasses, evaluation.labels!);
  return { net, record: { ...settings, resolution: config.imageShape[1]!, seconds, finalLoss, accuracy, accuracyIsHeldOut: dataset.size === undefined } };
}

/** Saves a feature network as a checkpoint directory (checkpoint.safetensors + checkpoint.json). */
/**
 * Throws unless `dir` can take a feature network: one already there is replaced only with overwrite
 * (call it before training, so that no training is wasted on a folder that cannot be written).
 */
export function claimFeatureNetFolder(dir: string, { overwrite = false }: { overwrite?: boolean } = {}): void {
  if (!overwrite) prepareRunFolder({ dir, what: 'a feature network', files: ['checkpoint.json', 'checkpoint.safetensors'], resumable: false }, {});
}

export async function saveFeatureNet(dir: string, net: FeatureNet, record?: FeatureTrainingRecord, { overwrite = false }: { overwrite?: boolean } = {}): Promise<void> {
  claimFeatureNetFolder(dir, { overwrite });
  await saveCheckpoint(dir, { params: net.params, config: { model: net.config, training: record ?? null }, step: record?.steps });
}

/** Loads a feature network saved by saveFeatureNet; a bad or mismatched checkpoint is a CheckpointError naming the file. */
export async function loadFeatureNet(dir: string, options: FeatureNetOptions = {}): Promise<FeatureNet> {
  const loaded = await loadCheckpoint(dir);
  const model = loaded.config.model;
  if (typeof model !== 'object' || model === null) throw new CheckpointError(loaded.files.config, 'not a feature network checkpoint: no "model" config');
  let config: FeatureNetConfig;
  try {
    config = checkFeatureNetConfig(model as Record<string, unknown>);
  } catch (error) {
    throw new CheckpointError(loaded.files.config, (error as Error).message);
  }
  const params = loadParamsInto(new Map([...featureNetParamShapes(config)].map(([name, shape]) => [name, { shape }])), loaded.params, loaded.files.weights);
  return new FeatureNet(config, params, options);
}

/** Shipped feature networks under models/, by dataset name and image shape. */
const SHIPPED: readonly { data: string; imageShape: readonly number[]; dir: string }[] = [{ data: 'shapes', imageShape: [3, 32, 32], dir: 'features-shapes' }];

/** The directory of the shipped feature network for a dataset, or undefined when none ships for it. */
export function shippedFeatureNetDir(dataset: Pick<Dataset, 'name' | 'shape'>): string | undefined {
  const found = SHIPPED.find((s) => s.data === dataset.name && sameShape(s.imageShape, dataset.shape));
  return found && join(shippedModelsDir(), found.dir);
}
