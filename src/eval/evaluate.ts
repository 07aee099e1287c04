// Sample quality against the true data distribution, each distance beside its real-vs-real floor: the
// same distance between two independent real sets of the same size. A distance means little alone,
// since finite samples keep it above zero even for a perfect model; near the floor, a model is as
// good as this many samples can tell.
//
// Images are compared in a feature network's space (FD, KID; and the class accuracy of conditional
// samples), points directly (sliced Wasserstein distance and RBF MMD, see swd.ts).
//
// Uncertainty: at n = 2,000 the FD floor of shapes moves by a factor of two from one pair of real
// sets to the next, so one comparison says little. The generated set is compared with K independent
// real sets and the floor measured on K independent pairs of real sets; each figure is the mean over
// the K comparisons and its `_std` the standard deviation over them. That spread is the real data's
// share of the uncertainty; the generated set's share shows when the evaluation is repeated with
// other sampling seeds (docs/eval.md gives the protocol of the headline figures). A bootstrap over
// both sets was tried and rejected: on Gaussian sets near the floor it overstated FD's spread over
// independent sets by 1.3x to 1.9x, since a redrawn set carries its own finite-sample bias.

import type { Dataset, DatasetBatch } from '../data/dataset.js';
import type { Seed } from '../engine/rng.js';
import { sameShape, type HostTensor } from '../engine/host-tensor.js';
import { InputError } from '../engine/input-error.js';
import { type FeatureBatch, type FeatureNet, classAccuracy, perClassAccuracy } from './feature-net.js';
import { frechetDistance, kidFromKernels, kidKernels } from './frechet.js';
import { medianDistance, mmdRbf, slicedWasserstein } from './swd.js';

export interface ImageEvaluation {
  n: number; // samples in each set
  real_sets: number; // K: independent real sets behind each mean and standard deviation
  fd: number; // FD between generated and real features, mean over the K real sets
  fd_std: number; // its standard deviation over the K real sets
  fd_floor: number; // FD between two independent real sets, mean over K pairs
  fd_floor_std: number;
  kid: number;
  kid_std: number;
  kid_floor: number;
  kid_floor_std: number;
  accuracy?: number; // fraction of generated images the feature network puts in the class they were conditioned on
  class_accuracy?: Record<string, number>; // the same per class, keyed by class name
}

export interface EvaluationOptions {
  realSets?: number; // K, at least 2: independent real sets (and pairs of them for the floor)
}

export const EVALUATION_DEFAULTS: Required<EvaluationOptions> = {
  realSets: 5, // the spread to within about a third, for about 25 s more per evaluation of 2,000 images
};

function realSetCount(options: EvaluationOptions): number {
  const realSets = options.realSets ?? EVALUATION_DEFAULTS.realSets;
  if (!Number.isInteger(realSets) || realSets < 2) throw new RangeError(`evaluation needs at least 2 real sets for a spread, got ${realSets}`);
  return realSets;
}

/**
 * Pair k of independent real sets: stream positions [2kn, 2kn + n) and [2kn + n, 2kn + 2n). The
 * first set of each pair is the one the generated set is compared with. A finite dataset smaller
 * than 2Kn repeats items across them, which lowers the floor.
 */
function realSetPair(dataset: Dataset, n: number, seed: Seed, k: number): [DatasetBatch, DatasetBatch] {
  return [dataset.sample({ start: 2 * k * n, count: n }, seed), dataset.sample({ start: (2 * k + 1) * n, count: n }, seed)];
}

/** Mean and standard deviation (n − 1) of the K comparisons. */
function meanAndStd(values: readonly number[]): [number, number] {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  return [mean, Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1))];
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
export async function evaluateImages(featureNet: FeatureNet, generated: Pick<DatasetBatch, 'x' | 'labels'>, dataset: Dataset, n: number, seed: Seed, options: EvaluationOptions = {}): Promise<ImageEvaluation> {
  checkFeatureNetFits(featureNet, dataset);
  checkCount(n, generated.x.shape[0]!);
  const perImage = generated.x.data.length / generated.x.shape[0]!;
  const images = { ...generated.x, shape: [n, ...generated.x.shape.slice(1)], data: generated.x.data.subarray(0, n * perImage) };
  return evaluateImageFeatures(featureNet, await featureNet.features(images), generated.labels, dataset, n, seed, options);
}

/** Throws, naming both, unless the feature network was trained on this dataset at its image shape. */
export function checkFeatureNetFits(featureNet: FeatureNet, dataset: Dataset): void {
  const { data, imageShape } = featureNet.config;
  if (dataset.name !== data || !sameShape(dataset.shape, imageShape)) {
    throw new InputError(`the feature network was trained on ${data} at ${imageShape.join('x')}, not ${dataset.name} at ${dataset.shape.join('x')}: train one on this data with hasten train-features`);
  }
}

/** evaluateImages from the generated images' features and logits (computed elsewhere, e.g. by the shards of a sharded run). */
export async function evaluateImageFeatures(featureNet: FeatureNet, fake: FeatureBatch, generatedLabels: HostTensor<'int64'> | undefined, dataset: Dataset, n: number, seed: Seed, options: EvaluationOptions = {}): Promise<ImageEvaluation> {
  const { numClasses, featureDim } = featureNet.config;
  checkFeatureNetFits(featureNet, dataset);
  checkCount(n, fake.features.length / featureDim);
  const fakeFeatures = fake.features.subarray(0, n * featureDim);
  const realSets = realSetCount(options);
  const figures = { fd: [] as number[], fdFloor: [] as number[], kid: [] as number[], kidFloor: [] as number[] };
  let withinFake: Float64Array | undefined;
  for (let k = 0; k < realSets; k++) {
    const [setA, setB] = realSetPair(dataset, n, seed, k);
    const realA = (await featureNet.features(setA.x)).features;
    const realB = (await featureNet.features(setB.x)).features;
    figures.fd.push(frechetDistance(fakeFeatures, realA, featureDim));
    figures.fdFloor.push(frechetDistance(realB, realA, featureDim));
    const kernels = kidKernels(fakeFeatures, realA, featureDim, { withinA: withinFake });
    withinFake = kernels.withinA;
    figures.kid.push(kidFromKernels(kernels));
    figures.kidFloor.push(kidFromKernels(kidKernels(realB, realA, featureDim, { withinB: kernels.withinB })));
  }
  const [fd, fdStd] = meanAndStd(figures.fd);
  const [fdFloor, fdFloorStd] = meanAndStd(figures.fdFloor);
  const [kid, kidStd] = meanAndStd(figures.kid);
  const [kidFloor, kidFloorStd] = meanAndStd(figures.kidFloor);
  const result: ImageEvaluation = {
    n, real_sets: realSets, fd, fd_std: fdStd, fd_floor: fdFloor, fd_floor_std: fdFloorStd, kid, kid_std: kidStd, kid_floor: kidFloor, kid_floor_std: kidFloorStd,
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
  real_sets: number; // K, as for images
  swd: number; // sliced Wasserstein distance between generated and real points, mean over the K real sets
  swd_std: number; // its standard deviation over the K real sets
  swd_floor: number; // the same between two independent real sets, over K pairs
  swd_floor_std: number;
  mmd: number; // unbiased RBF MMD² (may be slightly negative near the floor)
  mmd_std: number;
  mmd_floor: number;
  mmd_floor_std: number;
}

/** Evaluates the first n generated points (flat, n × dim) against a dataset of points. */
export function evaluatePoints(generated: Float64Array, dataset: Dataset, n: number, seed: Seed, options: EvaluationOptions = {}): PointEvaluation {
  if (dataset.kind !== 'points') throw new Error(`${dataset.name} is an image dataset: evaluate images with evaluateImages`);
  const dim = dataset.shape[0]!;
  if (generated.length % dim !== 0) throw new Error(`generated points: ${generated.length} values are not a whole number of ${dim}-vectors`);
  checkCount(n, generated.length / dim);
  const realSets = realSetCount(options);
  const fake = generated.subarray(0, n * dim);
  const pairs = Array.from({ length: realSets }, (_, k) => realSetPair(dataset, n, seed, k).map((set) => Float64Array.from(set.x.data)) as [Float64Array, Float64Array]);
  // One set of bandwidths, from the first real pair, so that every distance and floor uses the same kernel.
  const bandwidths = [0.5, 1, 2].map((f) => f * medianDistance(pairs[0]![0], pairs[0]![1], dim));
  const [swd, swdStd] = meanAndStd(pairs.map(([realA]) => slicedWasserstein(fake, realA, dim)));
  const [swdFloor, swdFloorStd] = meanAndStd(pairs.map(([realA, realB]) => slicedWasserstein(realB, realA, dim)));
  const [mmd, mmdStd] = meanAndStd(pairs.map(([realA]) => mmdRbf(fake, realA, dim, { bandwidths })));
  const [mmdFloor, mmdFloorStd] = meanAndStd(pairs.map(([realA, realB]) => mmdRbf(realB, realA, dim, { bandwidths })));
  return {
    n, real_sets: realSets, swd, swd_std: swdStd, swd_floor: swdFloor, swd_floor_std: swdFloorStd, mmd, mmd_std: mmdStd, mmd_floor: mmdFloor, mmd_floor_std: mmdFloorStd,
  };
}
