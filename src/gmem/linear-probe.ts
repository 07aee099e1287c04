// The linear probe: how much class information a frozen representation holds, as the test accuracy
// of a multinomial logistic regression trained on it (the standard measure for self-supervised
// encoders, DINOv2's included). Features are L2-normalised (as a bank uses them) and standardised;
// full-batch gradient descent in float64, deterministic.

import { type Dataset, DatasetError } from '../data/dataset.js';
import type { SnippetEncoder } from './encoder.js';

export interface LinearProbeSettings {
  iterations: number; // full-batch gradient steps
  learningRate: number; // step size on standardised features
  l2: number; // weight decay on the weights (not the biases)
}

export const LINEAR_PROBE_DEFAULTS: Readonly<LinearProbeSettings> = {
  iterations: 500, // the loss has flattened on 128-d shapes snippets well before
  learningRate: 1, // stable for standardised features and softmax's curvature bound of 1/2
  l2: 1e-4,
};

export interface LabelledFeatures {
  features: Float32Array | Float64Array; // n x dim, row-major
  labels: ArrayLike<number | bigint>;
}

function normalisedRows(features: Float32Array | Float64Array, dim: number): Float64Array {
  const out = Float64Array.from(features);
  for (let row = 0; row < out.length; row += dim) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += out[row + j]! ** 2;
    const scale = 1 / Math.sqrt(norm + 1e-12);
    for (let j = 0; j < dim; j++) out[row + j]! *= scale;
  }
  return out;
}

/** Trains on `train`, returns the accuracy on `test` (and on train, for the gap). */
export function linearProbe(train: LabelledFeatures, test: LabelledFeatures, dim: number, numClasses: number, settings: Partial<LinearProbeSettings> = {}): { trainAccuracy: number; testAccuracy: number } {
  const { iterations, learningRate, l2 } = { ...LINEAR_PROBE_DEFAULTS, ...settings };
  const x = normalisedRows(train.features, dim);
  const n = x.length / dim;
  if (n !== train.labels.length) throw new Error(`linearProbe: ${n} feature rows but ${train.labels.length} labels`);
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += x[i * dim + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) std[j]! += (x[i * dim + j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < dim; j++) std[j] = Math.sqrt(std[j]!) + 1e-8;
  const standardise = (rows: Float64Array): Float64Array => rows.map((v, k) => (v - mean[k % dim]!) / std[k % dim]!);
  const xs = standardise(x);
  const weights = new Float64Array(numClasses * dim);
  const bias = new Float64Array(numClasses);
  const logits = new Float64Array(numClasses);
  const predict = (rows: Float64Array, i: number): void => {
    for (let k = 0; k < numClasses; k++) {
      let s = bias[k]!;
      for (let j = 0; j < dim; j++) s += weights[k * dim + j]! * rows[i * dim + j]!;
      logits[k] = s;
    }
  };
  const gradW = new Float64Array(weights.length);
  const gradB = new Float64Array(numClasses);
  for (let iteration = 0; iteration < iterations; iteration++) {
    gradW.fill(0);
    gradB.fill(0);
    for (let i = 0; i < n; i++) {
      predict(xs, i);
      const top = Math.max(...logits);
      let total = 0;
      for (let k = 0; k < numClasses; k++) total += (logits[k] = Math.exp(logits[k]! - top));
      const label = Number(train.labels[i]);
      for (let k = 0; k < numClasses; k++) {
        const g = logits[k]! / total - (k === label ? 1 : 0);
        gradB[k]! += g / n;
        for (let j = 0; j < dim; j++) gradW[k * dim + j]! += (g * xs[i * dim + j]!) / n;
      }
    }
    for (let w = 0; w < weights.length; w++) weights[w]! -= learningRate * (gradW[w]! + l2 * weights[w]!);
    for (let k = 0; k < numClasses; k++) bias[k]! -= learningRate * gradB[k]!;
  }
  const accuracy = (rows: Float64Array, labels: ArrayLike<number | bigint>): number => {
    let hits = 0;
    for (let i = 0; i < labels.length; i++) {
      predict(rows, i);
      let best = 0;
      for (let k = 1; k < numClasses; k++) if (logits[k]! > logits[best]!) best = k;
      if (best === Number(labels[i])) hits++;
    }
    return hits / labels.length;
  };
  return { trainAccuracy: accuracy(xs, train.labels), testAccuracy: accuracy(standardise(normalisedRows(test.features, dim)), test.labels) };
}

export interface ProbeResult {
  trainImages: number;
  testImages: number;
  trainAccuracy: number;
  testAccuracy: number;
}

/**
 * The linear-probe accuracy of an encoder's snippets on a labelled dataset: a probe fitted on
 * `trainImages` images of seed `seed`, tested on `testImages` of seed `seed + 1`.
 */
export async function probeEncoder(encoder: SnippetEncoder, dataset: Dataset, { trainImages = 4000, testImages = 2000, seed = 1000, batch = 250 } = {}): Promise<ProbeResult> {
  if (!dataset.numClasses) throw new DatasetError(`'${dataset.name}' has no class labels: a linear probe needs them`);
  const encodeSet = async (count: number, setSeed: number): Promise<LabelledFeatures> => {
    const features = new Float32Array(count * encoder.snippetDim);
    const labels = new BigInt64Array(count);
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      const sample = dataset.sample({ start, count: n }, setSeed);
      features.set((await encoder.encode(sample.x)).snippets, start * encoder.snippetDim);
      labels.set(sample.labels!.data, start);
    }
    return { features, labels };
  };
  const train = await encodeSet(trainImages, seed);
  const test = await encodeSet(testImages, seed + 1);
  return { trainImages, testImages, ...linearProbe(train, test, encoder.snippetDim, dataset.numClasses) };
}
