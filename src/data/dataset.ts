// What every dataset offers: an infinite stream of samples addressed by index, where sample k depends
// only on (seed, k). A training run that resumes at step s therefore sees exactly the batches an
// uninterrupted run would have seen, and two runs with the same seed train on the same data, whatever
// their batch sizes.

import type { HostTensor } from '../engine/host-tensor.js';
import type { SampleSelection, Seed } from '../engine/rng.js';
import { InputError } from '../engine/input-error.js';

export type DatasetKind = 'points' | 'images';

export interface DatasetBatch {
  /** The stream positions drawn, in batch order. */
  indices: number[];
  /** [n, ...dataset.shape]. Points as they are; images as float32 in [-1, 1], NCHW. */
  x: HostTensor<'float32'>;
  /** [n] class ids, present exactly when the dataset has classes. */
  labels?: HostTensor<'int64'>;
  /** One short caption per sample (e.g. "small red triangle top left"), present exactly when the dataset has captions. */
  captions?: string[];
}

export interface Dataset {
  /** The spec that reopens this dataset with openDataset (with the same options), e.g. 'toy2d:two-moons'. */
  name: string;
  kind: DatasetKind;
  /** Shape of one sample: [dim] for points, [channels, height, width] for images. */
  shape: readonly number[];
  /** Number of classes when samples carry class labels; classNames[id] names class id. */
  numClasses?: number;
  classNames?: readonly string[];
  hasCaptions: boolean;
  /**
   * The number of distinct items of a finite collection (a folder of images), whose stream visits every
   * item once per epoch in a seeded order. Absent for generative datasets (toy2d, gmm, shapes), whose every
   * sample is a fresh exact draw from the true distribution: sampling them with an unused seed gives
   * reference samples for evaluation.
   */
  size?: number;
  /** Samples at the selected stream positions; deterministic in (seed, position). */
  sample(selection: SampleSelection, seed: Seed): DatasetBatch;
}

/** A dataset problem caused by its user (unknown name, missing or empty folder, bad problem file): worth one line, not a stack trace. */
export class DatasetError extends InputError {
  override name = 'DatasetError';
}

/** The stream positions of a selection, checked. */
export function selectionIndices(selection: SampleSelection): number[] {
  const indices = 'start' in selection ? Array.from({ length: selection.count }, (_, i) => selection.start + i) : [...selection];
  for (const index of indices) {
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`dataset: sample index ${index} is not a non-negative safe integer`);
  }
  return indices;
}

export const DEFAULT_RESOLUTION = 32;
export const MIN_RESOLUTION = 8;
export const MAX_RESOLUTION = 512;

/** Checks the side of square images requested from an image dataset. */
export function checkResolution(resolution: number): void {
  if (!Number.isInteger(resolution) || resolution < MIN_RESOLUTION || resolution > MAX_RESOLUTION) {
    throw new DatasetError(`image resolution must be an integer from ${MIN_RESOLUTION} to ${MAX_RESOLUTION}, got ${resolution}`);
  }
}

export interface BatchOptions {
  batchSize: number;
  seed: Seed;
  /** The first step to yield (0 for a fresh run, s when resuming after s steps). */
  firstStep?: number;
  /** How many batches to yield; unbounded when absent. */
  steps?: number;
}

/** Training batches: batch s holds stream positions [s·B, (s+1)·B), so a run resumed at step s continues the same stream. */
export function* batches(dataset: Dataset, { batchSize, seed, firstStep = 0, steps = Infinity }: BatchOptions): Generator<DatasetBatch> {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batches: batch size must be a positive integer, got ${batchSize}`);
  if (!Number.isSafeInteger(firstStep) || firstStep < 0) throw new RangeError(`batches: first step must be a non-negative integer, got ${firstStep}`);
  for (let step = firstStep; step < firstStep + steps; step++) yield dataset.sample({ start: step * batchSize, count: batchSize }, seed);
}
