// `gmm:FILE`: draws from a Gaussian-mixture problem file of the samplers (src/diffusion/gmm.ts has the
// format, the parser and the sampler; this file only turns them into a seeded dataset stream).

import { loadGaussianMixture, sampleMixture } from '../diffusion/gmm.js';
import { Rng } from '../diffusion/random.js';
import { hostTensor } from '../engine/host-tensor.js';
import { RngStream } from '../engine/rng.js';
import { type Dataset, DatasetError, selectionIndices } from './dataset.js';

export function gmmDataset(path: string): Dataset {
  let mixture;
  try {
    mixture = loadGaussianMixture(path);
  } catch (error) {
    throw new DatasetError((error as Error).message);
  }
  const { dim } = mixture;
  return {
    name: `gmm:${path}`,
    kind: 'points',
    shape: [dim],
    hasCaptions: false,
    sample(selection, seed) {
      const indices = selectionIndices(selection);
      // sampleMixture draws from a sequential generator; giving each sample its own, seeded from the
      // per-sample stream, makes sample k depend only on (seed, k). Those seeds have 31 bits, so two of
      // n samples coincide with probability about n² / 2^32 (0.1% at n = 2,000): harmless for training
      // and evaluation alike.
      const sampleSeeds = RngStream.fromSeed(seed, 'gmm').integers(indices, 1, 2 ** 31);
      const points = new Float32Array(indices.length * dim);
      sampleSeeds.forEach((sampleSeed, i) => points.set(sampleMixture(mixture, 1, new Rng(sampleSeed)), i * dim));
      return { indices, x: hostTensor('float32', [indices.length, dim], points) };
    },
  };
}
