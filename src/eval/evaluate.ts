// Sample quality against the true data distribution, each distance beside its real-vs-real floor: the
// same distance between two independent real sets of the same size. A distance means little alone,
// since finite samples keep it above zero even for a perfect model; near the floor, a model is as
// good as this many samples can tell.
//
// Images are compared in a feature network's space (FD, KID; and the class accuracy of conditional
// samples), points directly (sliced Wasserstein distance and RBF MMD, see swd.ts).

import type { Dataset, DatasetBatch } from '../data/dataset.js';
import type { Seed } from '../engine/rng.js';
import { sameShape, type HostTensor } from '../engine/host-tensor.js';
import { type FeatureBatch, type FeatureNet, classAccuracy, perClassAccuracy } from './feature-net.js';
import { frechetDistance, kid } from './frechet.js';
import { medianDistance, mmdRbf, slicedWasserstein } from './swd.js';

export interface ImageEvaluation {
  n: number; // samples in each set
  fd: number; // FD between generated and real features
  fd_floor: number; // FD between two independent real sets
  kid: number;
  kid_floor: number;
  accuracy?: number; // fraction of generated images the feature network puts in the class they were conditioned on
  class_accuracy?: Record<string, number>; // the same per class, keyed by class name
}

/** The two independent real sets: stream positions [0, n) and [n, 2n). A finite dataset smaller than 2n repeats items across them, which lowers the floor. */
function realSets(dataset: Dataset, n: number, seed: Seed): [DatasetBatch, DatasetBatch] {
  return [dataset.sample({ start: 0, count: n }, seed), dataset.sample({ start: n, count: n }, seed)];
}

function checkCount(n: number, available: number): void {
  if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`evaluation needs n >= 2 samples, got ${n}`);
  if (available < n) throw new RangeError(`evaluation of n = ${n} samples was given only ${available} generated samples`);
}

/**
 * Evaluates the first n generated images (float32 NCHW in [-1, 1]) against `dataset`, in the feature
 * space of a network trained on that dataset. With `generated.labels` (the classes the images were
 * conditioned on), also reports the feature network's accuracy on them.
 */
export async function evaluateImages(featureNet: FeatureNet, generated: Pick<DatasetBatch, 'x' | 'labels'>, dataset: Dataset, n: number, seed: Seed): Promise<ImageEvaluation> {
  checkFeatureNetFits(featureNet, dataset);
  checkCount(n, generated.x.shape[0]!);
  const perImage = generated.x.data.length / generated.x.shape[0]!;
  const images = { ...generated.x, shape: [n, ...generated.x.shape.slice(1)], data: generated.x.data.subarray(0, n * perImage) };
  return evaluateImageFeatures(featureNet, await featureNet.features(images), generated.labels, dataset, n, seed);
}

function checkFeatureNetFits(featureNet: FeatureNet, dataset: Dataset): void {
  const { data, imageShape } = featureNet.config;
  if (dataset.name !== data || !sameShape(dataset.shape, imageShape)) {
    throw new Error(`the feature network was trained on ${data} at ${imageShape.join('x')}, not ${dataset.name} at ${dataset.shape.join('x')}: train one on this data with hasten train-features`);
  }
}

/** evaluateImages from the generated images' features and logits (computed elsewhere, e.g. by the shards of a sharded run). */
export async function evaluateImageFeatures(featureNet: FeatureNet, fake: FeatureBatch, generatedLabels: HostTensor<'int64'> | undefined, dataset: Dataset, n: number, seed: Seed): Promise<ImageEvaluation> {
  const { numClasses, featureDim } = featureNet.config;
  checkFeatureNetFits(featureNet, dataset);
  checkCount(n, fake.features.length / featureDim);
  const fakeFeatures = fake.features.subarray(0, n * featureDim);
  const [setA, setB] = realSets(dataset, n, seed);
  const realA = (await featureNet.features(setA.x)).features;
  const realB = (await featureNet.features(setB.x)).features;
  const result: ImageEvaluation = {
    n,
    fd: frechetDistance(fakeFeatures, realA, featureDim),
    fd_floor: frechetDistance(realB, realA, featureDim),
    kid: kid(fakeFeatures, realA, featureDim),
    kid_floor: kid(realB, realA, featureDim),
  };
  if (generatedLabels) {
    checkCount(n, generatedLabels.shape[0]!);
    const labels = { ...generatedLabels, shape: [n], data: generatedLabels.data.subarray(0, n) };
    const logits = fake.logits.subarray(0, n * numClasses);
    result.accuracy = classAccuracy(logits, numClasses, labels);
    const perClass = perClassAccuracy(logits, numClasses, labels);
    result.class_accuracy = Object.fromEntries(perClass.map((accuracy, k) => [dataset.classNames?.[k] ?? String(k), accuracy]));
  }
  return result;
}

export interface PointEvaluation {
  n: number; // samples in each set
  swd: number; // sliced Wasserstein distance between generated and real points
  swd_floor: number; // the same between two independent real sets
  mmd: number; // unbiased RBF MMD² (may be slightly negative near the floor)
  mmd_floor: number;
}

/** Evaluates the first n generated points (flat, n × dim) against a dataset of points. */
export function evaluatePoints(generated: Float64Array, dataset: Dataset, n: number, seed: Seed): PointEvaluation {
  if (dataset.kind !== 'points') throw new Error(`${dataset.name} is an image dataset: evaluate images with evaluateImages`);
  const dim = dataset.shape[0]!;
  if (generated.length % dim !== 0) throw new Error(`generated points: ${generated.length} values are not a whole number of ${dim}-vectors`);
  checkCount(n, generated.length / dim);
  const fake = generated.subarray(0, n * dim);
  const [realA, realB] = realSets(dataset, n, seed).map((set) => Float64Array.from(set.x.data));
  // One set of bandwidths, from the real data, so that the distance and its floor use the same kernel.
  const bandwidths = [0.5, 1, 2].map((f) => f * medianDistance(realA!, realB!, dim));
  return {
    n,
    swd: slicedWasserstein(fake, realA!, dim),
    swd_floor: slicedWasserstein(realB!, realA!, dim),
    mmd: mmdRbf(fake, realA!, dim, { bandwidths }),
    mmd_floor: mmdRbf(realB!, realA!, dim, { bandwidths }),
  };
}
