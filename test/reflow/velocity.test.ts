import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGaussianMixture, gmmDenoiser } from '../../src/diffusion/gmm.js';
import { edmPreconditioning } from '../../src/diffusion/parameterisation.js';
import { rectifiedFlow } from '../../src/diffusion/process.js';
import { type ObjectiveName, networkDenoiser, objectiveSettings } from '../../src/train/objectives.js';
import { invert } from '../../src/reflow/invert.js';
import { pairCoefficients, studentObjective } from '../../src/reflow/objective.js';
import { integrate, uniformTimes, velocityField } from '../../src/reflow/velocity.js';

/** A stand-in network: an arbitrary smooth function of its input and noise label. */
const fakeNetwork = (input: Float32Array, labels: Float32Array, batch: number): Float32Array => {
  const per = input.length / batch;
  return input.map((x, i) => 0.7 * Math.sin(x) + 0.3 * labels[Math.floor(i / per)]! - 0.1 * x);
};
const runner = async (input: Float32Array, labels: Float32Array, batch: number) => fakeNetwork(input, labels, batch);

const close = (a: number, b: number, tolerance: number) => Math.abs(a - b) <= tolerance * (1 + Math.abs(b));

test('an EDM network as a velocity field: v = (x_t − D(x_t/(1 − t); sigma = t/(1 − t)))/t', async () => {
  const { denoiser, process } = networkDenoiser(objectiveSettings('edm'), runner, 2);
  const field = velocityField(denoiser, process);
  const x = Float64Array.of(0.3, -1.2, 2, 0.5);
  for (const t of [0.01, 0.4, 0.97]) {
    const v = await field(x, t, { step: 0, stage: 0 });
    const sigma = t / (1 - t);
    const { cSkip, cOut, cIn, cNoise } = edmPreconditioning(sigma);
    const scaled = x.map((xi) => xi / (1 - t));
    const raw = fakeNetwork(Float32Array.from(scaled, (s) => cIn * s), new Float32Array(2).fill(cNoise), 2);
    x.forEach((xi, i) => assert.ok(close(v[i]!, (xi - (cSkip * scaled[i]! + cOut * raw[i]!)) / t, 1e-5), `t = ${t}`));
  }
});

for (const network of ['edm', 'vp', 'rf'] as ObjectiveName[]) {
  test(`${network} student: the training regression's v̂ and x0 prediction equal what the samplers read`, async () => {
    const objective = studentObjective(objectiveSettings(network), 0.999);
    const { denoiser, process } = networkDenoiser(objective, runner, 1);
    assert.equal(process.name, 'rf');
    const field = velocityField(denoiser, process);
    const x0 = Float64Array.of(0.8, -0.4);
    const z = Float64Array.of(-1.1, 0.6);
    for (const t of [0.02, 0.3, 0.85]) {
      const c = pairCoefficients(network, t, objective.sigmaData);
      const xt = x0.map((x, i) => (1 - t) * x + t * z[i]!);
      const input = Float32Array.from(xt, (x) => c.input * x);
      const output = fakeNetwork(input, Float32Array.of(Math.log(t / (1 - t)) / 4), 1);
      const sampled = await field(xt, t, { step: 0, stage: 0 });
      const denoised = await denoiser.denoise(xt, t, { step: 0, stage: 0 });
      for (let i = 0; i < 2; i++) {
        const target = c.targetData * x0[i]! + c.targetNoise * z[i]!;
        const trained = z[i]! - x0[i]! + c.velocity * (output[i]! - target);
        assert.ok(close(trained, sampled[i]!, 1e-4), `t = ${t}: training v̂ ${trained}, sampler ${sampled[i]}`);
        assert.ok(close(c.denoisedInput * input[i]! + c.denoisedOutput * output[i]!, denoised[i]!, 1e-4));
      }
    }
  });
}

const twoMoonsLike = parseGaussianMixture({ dim: 2, weights: [0.5, 0.5], means: [[-1, 0.5], [1, -0.5]], stds: [0.3, 0.3] });

test('sample then invert returns the starting noise (Heun, exact mixture flow)', async () => {
  const field = velocityField(gmmDenoiser(twoMoonsLike, rectifiedFlow()), rectifiedFlow());
  const noise = Float64Array.of(0.3, -1.2, 1.5, 0.2, -0.7, -0.9);
  const tMax = 0.999;
  const sample = await integrate(field, noise.map((z) => tMax * z), uniformTimes(tMax, 0, 200), 'heun');
  const recovered = await invert(field, sample, 200, 'heun', tMax, 1e-4);
  noise.forEach((z, i) => assert.ok(Math.abs(recovered[i]! - z) < 0.02, `coordinate ${i}: ${recovered[i]} vs ${z}`));
});

test('integrate: Euler and Heun are exact on a constant velocity, in either direction', async () => {
  const field = async (x: Float64Array) => x.map(() => 2);
  for (const method of ['euler', 'heun'] as const) {
    assert.deepEqual(await integrate(field, Float64Array.of(1), uniformTimes(0.9, 0, 3), method), Float64Array.of(1 - 1.8));
    assert.ok(Math.abs((await integrate(field, Float64Array.of(0), uniformTimes(0.1, 0.6, 4), method))[0]! - 1) < 1e-12);
  }
});
