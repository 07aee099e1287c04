import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gmmDenoiser, parseGaussianMixture } from '../../src/diffusion/gmm.js';
import { rectifiedFlow } from '../../src/diffusion/process.js';
import { RngStream } from '../../src/engine/rng.js';
import { straightness } from '../../src/reflow/straightness.js';
import { velocityField } from '../../src/reflow/velocity.js';

const noise = RngStream.fromSeed(0, 'straightness-test').normal({ start: 0, count: 200 }, 2, new Float64Array(400));
const fieldOf = (spec: object) => velocityField(gmmDenoiser(parseGaussianMixture(spec), rectifiedFlow()), rectifiedFlow());

test('the flow to a single point is straight: S ≈ 0', async () => {
  const s = await straightness(fieldOf({ dim: 2, weights: [1], means: [[0.5, -1]], stds: [1e-6] }), noise, 16, 0.999);
  assert.ok(s < 1e-9, `S = ${s}`);
});

test('the flow to a two-component mixture curves: S > 0, and more so with separated modes', async () => {
  const near = await straightness(fieldOf({ dim: 2, weights: [0.5, 0.5], means: [[-0.5, 0], [0.5, 0]], stds: [0.2, 0.2] }), noise, 16, 0.999);
  const far = await straightness(fieldOf({ dim: 2, weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], stds: [0.2, 0.2] }), noise, 16, 0.999);
  assert.ok(near > 1e-3, `S = ${near}`);
  assert.ok(far > 3 * near, `separated modes: S = ${far}, close modes: ${near}`);
});
