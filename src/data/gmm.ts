// `gmm:FILE`: draws from a Gaussian-mixture problem file of the samplers (src/diffusion/gmm.ts has the
// format, the parser and the sampler; this file only turns them into a seeded dataset stream).

import { loadGaussianMixture, sampleMixture } from '../diffusion/gmm.js';
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
      const points = Float32Array.from(sampleMixture(mixture, RngStream.fromSeed(seed, 'gmm'), indices));
      return { indices, x: hostTensor('float32', [indices.length, dim], points) };
    },
  };
}
