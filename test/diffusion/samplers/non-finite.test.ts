import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Denoiser } from '../../../src/diffusion/denoiser.js';
import { gmmDenoiser, parseGaussianMixture } from '../../../src/diffusion/gmm.js';
import { makeGrid, parseGridSpec } from '../../../src/diffusion/grids.js';
import { processByName } from '../../../src/diffusion/process.js';
import { NonFiniteSample } from '../../../src/diffusion/samplers/common.js';
import { samplerNames, samplers } from '../../../src/diffusion/samplers/index.js';
import { RngStream } from '../../../src/engine/rng.js';

const mixture = parseGaussianMixture({ dim: 2, weights: [1], means: [[0.5, -0.5]], stds: [0.4] });
const noise = RngStream.fromSeed(5).normal({ start: 0, count: 3 }, 2, new Float64Array(3 * 2));

/** The exact denoiser, except that from step `bad` on it returns `value` in one coordinate. */
function breaksAt(exact: Denoiser, bad: number, value: number): Denoiser {
  return {
    async denoise(x, t, call) {
      const out = await exact.denoise(x, t, call);
      if (call.step >= bad) out[3] = value;
      return out;
    },
  };
}

test('every sampler stops with an error naming the step where a sample became NaN or infinite', async () => {
  for (const name of samplerNames) {
    const process = processByName(name.startsWith('rf-') ? 'rf' : 'edm');
    const grid = makeGrid(process, parseGridSpec(name.startsWith('rf-') ? 'rf' : 'karras'), 6);
    const exact = gmmDenoiser(mixture, process);
    const sampler = samplers.get(name)!;
    for (const value of [NaN, Infinity]) {
      await assert.rejects(sampler.sample(breaksAt(exact, 2, value), process, noise, grid, { samples: 3, freshNoise: (out) => out.fill(0) }), (error: Error) => {
        assert.ok(error instanceof NonFiniteSample, `${name}: ${error.message}`);
        assert.match(error.message, /at step 3 of 6 .*sample 2 of the batch/, name);
        assert.equal((error as NonFiniteSample).step, 2);
        return true;
      });
    }
    // A finite run is untouched.
    assert.ok((await sampler.sample(exact, process, noise, grid, { freshNoise: (out) => out.fill(0) })).x.every(Number.isFinite), name);
  }
});
