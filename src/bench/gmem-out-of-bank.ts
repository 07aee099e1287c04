// GMem's knowledge manipulation, measured: images the bank never held (the stretch of its stream right
// after the bank's images) are encoded with the bank's encoder, one sample is generated from each
// image's snippet, and the evaluation network says how often the sample has the source image's class.

import { openDataset } from '../data/registry.js';
import { classAccuracy } from '../eval/feature-net.js';
import type { FeatureNet } from '../eval/feature-net.js';
import { loadEncoder } from '../gmem/encoder.js';
import { normalise } from '../gmem/bank.js';
import { generate } from '../pipeline/generate.js';
import { modelBank } from '../pipeline/memory-conditions.js';
import type { TrainedModel } from '../pipeline/model-store.js';

export interface OutOfBankSettings {
  n: number; // held-out images, one sample each
  sampler: string;
  steps: number;
  seed: number; // noise of the samples
  batch: number;
}

export interface OutOfBankResult {
  n: number;
  start: number; // first stream position of the held-out images (the bank holds [bank start, start))
  accuracy: number; // fraction of samples the evaluation network puts in their source image's class
  nfe: number;
}

/** Samples from the snippets of n images outside the model's bank, scored against their sources' classes. */
export async function outOfBankAccuracy(trained: TrainedModel, net: FeatureNet, settings: OutOfBankSettings): Promise<OutOfBankResult> {
  const bank = await modelBank(trained);
  const { data, resolution, seed, start, count } = bank.metadata;
  const dataset = openDataset(data, { resolution });
  if (!dataset.numClasses) throw new Error(`out-of-bank accuracy needs class labels; '${data}' has none`);
  const first = start + count;
  if (dataset.size !== undefined && first + settings.n > dataset.size) throw new Error(`'${data}' holds ${dataset.size} images and the bank the first ${first}: no ${settings.n} images are left outside it`);
  const held = dataset.sample({ start: first, count: settings.n }, seed);
  const encoder = await loadEncoder(bank.metadata.encoder);
  let raw: Float32Array;
  try {
    raw = (await encoder.encode(held.x)).snippets;
  } finally {
    await encoder.dispose();
  }
  const dim = bank.dim;
  const snippets = new Float32Array(raw.length);
  for (let i = 0; i < settings.n; i++) snippets.set(normalise(raw.subarray(i * dim, (i + 1) * dim)), i * dim);
  const labels = Array.from(held.labels!.data, Number);
  const generated = await generate(trained, { sampler: settings.sampler, steps: settings.steps, n: settings.n, seed: settings.seed, batch: settings.batch, memory: { snippets, labels } });
  const { logits } = await net.features(generated.images);
  return { n: settings.n, start: first, accuracy: classAccuracy(logits, net.config.numClasses, held.labels!), nfe: generated.nfe };
}
