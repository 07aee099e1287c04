// Evaluating a trained model: generate n samples with a sampler, then compare them with fresh real
// data, beside the real-vs-real floor at the same n (FD, KID and class accuracy for images in a
// feature network's space; sliced Wasserstein and MMD for points).

import { openDataset } from '../data/registry.js';
import { checkMemory } from '../engine/memory-budget.js';
import type { HostTensor } from '../engine/host-tensor.js';
import { type FeatureNet, loadFeatureNet, shippedFeatureNetDir } from '../eval/feature-net.js';
import { type EvaluationOptions, type ImageEvaluation, type PointEvaluation, evaluateImages, evaluatePoints } from '../eval/evaluate.js';
import { type GenerateOptions, generate } from './generate.js';
import type { TrainedModel } from './model-store.js';
import { InputError } from '../engine/input-error.js';

/** Real data for evaluation comes from a seed the training stream never used. */
export const EVALUATION_SEED_OFFSET = 1_000_003;

export type ModelEvaluation = (ImageEvaluation | PointEvaluation) & { nfe: number; wall_s: number; sampling_s: number; gflops_per_image: number };

/** The feature network's directory: `directory`, else the one shipped for the model's data. */
export function featureNetDir(trained: TrainedModel, directory?: string): string {
  const dataset = openDataset(trained.config.data, { resolution: trained.config.resolution });
  const dir = directory ?? shippedFeatureNetDir(dataset);
  if (!dir) throw new InputError(`no feature network ships for ${dataset.name} at ${dataset.shape.join('x')}: train one with 'hasten train-features' and pass --features DIR`);
  return dir;
}

export async function openFeatureNet(trained: TrainedModel, directory?: string): Promise<FeatureNet> {
  return loadFeatureNet(featureNetDir(trained, directory));
}

/** Scores already generated samples (from any method) against real data. */
export async function scoreSamples(trained: TrainedModel, samples: HostTensor<'float32'>, labels: number[] | undefined, seed: number, featureNet?: FeatureNet, options: EvaluationOptions = {}): Promise<ImageEvaluation | PointEvaluation> {
  const dataset = openDataset(trained.config.data, { resolution: trained.config.resolution });
  const n = samples.shape[0]!;
  const realSeed = seed + EVALUATION_SEED_OFFSET;
  if (dataset.kind === 'points') return evaluatePoints(Float64Array.from(samples.data), dataset, n, realSeed, options);
  if (!featureNet) throw new Error('image evaluation needs a feature network');
  const generated = { x: samples, labels: labels && { dtype: 'int64' as const, shape: [n], data: BigInt64Array.from(labels, (c) => BigInt(c)) } };
  return evaluateImages(featureNet, generated, dataset, n, realSeed, options);
}

export async function evaluateModel(trained: TrainedModel, options: GenerateOptions & EvaluationOptions & { features?: string }): Promise<ModelEvaluation> {
  const started = performance.now();
  const isImages = trained.config.dataShape.length === 3;
  // KID holds four n x n kernel matrices at once (the generated set's, a real set's, and two across).
  if (isImages) checkMemory(`evaluating ${options.n} images (KID's kernel matrices)`, 4 * 8 * options.n ** 2);
  const featureNet = isImages ? await openFeatureNet(trained, options.features) : undefined;
  try {
    const generated = await generate(trained, options);
    const scores = await scoreSamples(trained, generated.images, generated.labels, options.seed, featureNet, { realSets: options.realSets });
    return { ...scores, nfe: generated.nfe, sampling_s: generated.wallS, gflops_per_image: generated.flops / generated.images.shape[0]! / 1e9, wall_s: (performance.now() - started) / 1000 };
  } finally {
    await featureNet?.dispose();
  }
}
