// Evaluating a model: generate n samples with a sampler, then compare them with fresh real data,
// beside the real-vs-real floor at the same n (FD, KID and class accuracy for images in a feature
// network's space; sliced Wasserstein and MMD for points). A hasten model is compared with the data
// it was trained on; an imported model brings none, so it is compared with a dataset named for it,
// opened at its sample size.

import { DatasetError, type Dataset } from '../data/dataset.js';
import { openDataset } from '../data/registry.js';
import { checkMemory } from '../engine/memory-budget.js';
import { type HostTensor, sameShape } from '../engine/host-tensor.js';
import { type FeatureNet, loadFeatureNet, shippedFeatureNetDir } from '../eval/feature-net.js';
import { type EvaluationOptions, type ImageEvaluation, type PointEvaluation, checkFeatureNetFits, evaluateImages, evaluatePoints } from '../eval/evaluate.js';
import { type GenerateOptions, type SamplingTarget, generate, isTrainedModel } from './generate.js';
import type { TrainedModel } from './model-store.js';
import type { TrainConfig } from '../train/trainer.js';
import { InputError } from '../engine/input-error.js';

/** Real data for evaluation comes from a seed the training stream never used. */
export const EVALUATION_SEED_OFFSET = 1_000_003;

export type ModelEvaluation = (ImageEvaluation | PointEvaluation) & { nfe: number; wall_s: number; sampling_s: number; gflops_per_image: number };

/** Where an evaluation's real data comes from: a trained model (its own data), or a dataset named for an imported model. */
export interface DataSource {
  config: Pick<TrainConfig, 'data' | 'resolution'>;
}

const openDataOf = (source: DataSource): Dataset => openDataset(source.config.data, { resolution: source.config.resolution });

const describeShape = (shape: readonly number[]): string => (shape.length === 3 ? `${shape.join('x')} images` : `${shape.join('x')}-D points`);

/**
 * The real data `model`'s samples are compared with: a hasten model's own (`data` must be absent);
 * for another sampling target, the dataset `data` at the target's sample size, which must fit it.
 */
export function evaluationData(model: TrainedModel | SamplingTarget, data?: string): DataSource {
  if (isTrainedModel(model)) {
    if (data !== undefined) throw new InputError(`'${model.name}' is compared with the data it was trained on (${model.config.data}); --data names the data of imported models`);
    return model;
  }
  const shape = model.dataShape;
  if (data === undefined) throw new InputError(`'${model.name}' is an imported model and brings no data to compare its samples with: name the data it was trained on with --data DATASET (e.g. shapes or folder:PATH), at its size ${describeShape(shape)}`);
  const isImages = shape.length === 3;
  if (isImages && shape[1] !== shape[2]) throw new InputError(`'${model.name}' draws ${describeShape(shape)}; evaluation compares square images`);
  const source: DataSource = { config: { data, ...(isImages && { resolution: shape[1] }) } };
  let dataset: Dataset;
  try {
    dataset = openDataOf(source);
  } catch (error) {
    if (!(error instanceof DatasetError)) throw error;
    throw new InputError(`--data ${data} for '${model.name}' (${describeShape(shape)}): ${error.message}`);
  }
  if (!sameShape(dataset.shape, shape)) throw new InputError(`--data ${data} holds ${describeShape(dataset.shape)}, but '${model.name}' draws ${describeShape(shape)}: give data of the model's shape`);
  return source;
}

/** The feature network's directory: `directory`, else the one shipped for the source's data. */
export function featureNetDir(source: DataSource, directory?: string): string {
  const dataset = openDataOf(source);
  const dir = directory ?? shippedFeatureNetDir(dataset);
  if (!dir) throw new InputError(`no feature network ships for ${dataset.name} at ${dataset.shape.join('x')}: train one with 'hasten train-features' and pass --features DIR`);
  return dir;
}

/** The feature network for the source's data, checked to fit it before any sampling. */
export async function openFeatureNet(source: DataSource, directory?: string): Promise<FeatureNet> {
  const net = await loadFeatureNet(featureNetDir(source, directory));
  try {
    checkFeatureNetFits(net, openDataOf(source));
  } catch (error) {
    await net.dispose();
    throw error;
  }
  return net;
}

/** Scores already generated samples (from any method) against real data. */
export async function scoreSamples(source: DataSource, samples: HostTensor<'float32'>, labels: number[] | undefined, seed: number, featureNet?: FeatureNet, options: EvaluationOptions = {}): Promise<ImageEvaluation | PointEvaluation> {
  const dataset = openDataOf(source);
  const n = samples.shape[0]!;
  const realSeed = seed + EVALUATION_SEED_OFFSET;
  if (dataset.kind === 'points') return evaluatePoints(Float64Array.from(samples.data), dataset, n, realSeed, options);
  if (!featureNet) throw new Error('image evaluation needs a feature network');
  const generated = { x: samples, labels: labels && { dtype: 'int64' as const, shape: [n], data: BigInt64Array.from(labels, (c) => BigInt(c)) } };
  return evaluateImages(featureNet, generated, dataset, n, realSeed, options);
}

/** Evaluates a hasten model against its own data, or another sampling target (an imported model) against `data`. */
export async function evaluateModel(model: TrainedModel | SamplingTarget, options: GenerateOptions & EvaluationOptions & { features?: string; data?: string }): Promise<ModelEvaluation> {
  const started = performance.now();
  const source = evaluationData(model, options.data);
  const isImages = (isTrainedModel(model) ? model.config.dataShape : model.dataShape).length === 3;
  // KID holds four n x n kernel matrices at once (the generated set's, a real set's, and two across).
  if (isImages) checkMemory(`evaluating ${options.n} images (KID's kernel matrices)`, 4 * 8 * options.n ** 2);
  const featureNet = isImages ? await openFeatureNet(source, options.features) : undefined;
  try {
    const generated = await generate(model, options);
    const scores = await scoreSamples(source, generated.images, generated.labels, options.seed, featureNet, { realSets: options.realSets });
    return { ...scores, nfe: generated.nfe, sampling_s: generated.wallS, gflops_per_image: generated.flops / generated.images.shape[0]! / 1e9, wall_s: (performance.now() - started) / 1000 };
  } finally {
    await featureNet?.dispose();
  }
}
