// The per-evaluation host arithmetic of the samplers and denoisers runs as plain loops; these check
// them bit for bit against the element-wise map() formulas they replaced, on values that include
// zeros of both signs, tiny and huge magnitudes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { edmDenoiser, edmPreconditioning, fromDenoised, predictions, toDenoised } from '../../src/diffusion/parameterisation.js';
import { processByName, processNames } from '../../src/diffusion/process.js';
import { allFinite, impliedNoise } from '../../src/diffusion/samplers/common.js';
import { getSampler } from '../../src/diffusion/samplers/index.js';
import { makeGrid, parseGridSpec } from '../../src/diffusion/grids.js';
import { networkDenoiser, objectiveSettings } from '../../src/train/objectives.js';

function values(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = ((s / 2147483648) * 2 - 1) * 10 ** ((i % 7) - 3);
  }
  out[0] = 0;
  out[1] = -0;
  out[2] = 1e-300;
  out[3] = -3e300;
  return out;
}

const sameBits = (a: Float64Array, b: Float64Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

test('allFinite: true exactly when no value is NaN or infinite', () => {
  assert.equal(allFinite(values(1000, 1)), true);
  assert.equal(allFinite(new Float64Array(0)), true);
  assert.equal(allFinite(Float64Array.of(-0, 0, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE)), true);
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const at of [0, 500, 999]) {
      const v = values(1000, 2);
      v[at] = bad;
      assert.equal(allFinite(v), false, `${bad} at ${at}`);
    }
  }
});

test('impliedNoise, toDenoised, fromDenoised: bit for bit the map() formulas', () => {
  const x = values(4099, 3);
  const d = values(4099, 4);
  for (const name of processNames) {
    const process = processByName(name);
    const t = 0.37 * process.tMax;
    const alpha = process.alpha(t);
    const sigma = process.sigma(t);
    assert.ok(sameBits(impliedNoise(process, t, x, d), x.map((xi, i) => (xi - alpha * d[i]!) / sigma)), `${name}: impliedNoise`);
    for (const kind of predictions) {
      const denoised = toDenoised(kind, d, x, t, process);
      // x0 = cx·x + cp·prediction; the coefficients follow from two exact evaluations.
      const cp = toDenoised(kind, Float64Array.of(1), Float64Array.of(0), t, process)[0]!;
      const cx = toDenoised(kind, Float64Array.of(0), Float64Array.of(1), t, process)[0]!;
      assert.ok(sameBits(denoised, x.map((xi, i) => cx * xi + cp * d[i]!)), `${name} ${kind}: toDenoised`);
      assert.ok(sameBits(fromDenoised(kind, d, x, t, process), x.map((xi, i) => (d[i]! - cx * xi) / cp)), `${name} ${kind}: fromDenoised`);
    }
  }
});

test('edmDenoiser: bit for bit the map() formulas, and the network sees the same input', async () => {
  const x = values(3001, 5);
  const raw = values(3001, 6);
  for (const name of processNames) {
    const process = processByName(name);
    const t = 0.21 * process.tMax;
    const alpha = process.alpha(t);
    const { cSkip, cOut, cIn } = edmPreconditioning(process.rho(t));
    const scaled = x.map((xi) => xi / alpha);
    let seen: Float64Array | undefined;
    const out = await edmDenoiser(async (input) => ((seen = input), raw), process).denoise(x, t, { step: 0, stage: 0 });
    assert.ok(sameBits(seen!, scaled.map((vi) => cIn * vi)), `${name}: network input`);
    assert.ok(sameBits(out, scaled.map((vi, i) => cSkip * vi + cOut * raw[i]!)), `${name}: x0`);
  }
});

test('networkDenoiser hands the runner float32 values and reads its float32 output as Float32Array.from did', async () => {
  const x = values(2 * 48, 7);
  const out32 = Float32Array.from(values(2 * 48, 8));
  let seen: Float32Array | undefined;
  const { denoiser, process } = networkDenoiser(objectiveSettings('edm'), async (input) => ((seen = input), out32), 2);
  const t = 0.5 * process.tMax;
  const denoised = await denoiser.denoise(x, t, { step: 0, stage: 0 });
  const { cSkip, cOut, cIn } = edmPreconditioning(process.rho(t));
  const alpha = process.alpha(t);
  const expectedInput = Float32Array.from(x.map((xi) => cIn * (xi / alpha)));
  assert.ok(seen!.every((v, i) => Object.is(v, expectedInput[i])), 'the runner input');
  const raw = Float64Array.from(out32);
  assert.ok(sameBits(denoised, x.map((xi, i) => cSkip * (xi / alpha) + cOut * raw[i]!)), 'the x0 prediction');
});

test('samplers still stop on a non-finite x0 prediction, naming the sample', async () => {
  const process = processByName('edm');
  const grid = makeGrid(process, parseGridSpec('karras'), 4);
  const noise = values(2 * 8, 9).map((v) => v / 1000);
  for (const name of ['ddim', 'euler', 'heun']) {
    const denoiser = { denoise: async (x: Float64Array) => x.map((v, i) => (i === 11 ? NaN : 0 * v)) };
    await assert.rejects(getSampler(name).sample(denoiser, process, noise, grid, { samples: 2 }), /NaN in sample 2 of the batch of 2/, name);
  }
});
