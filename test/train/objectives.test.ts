// Each objective's parts agree with each other: a network that outputs exactly the regression target
// `prepare` wrote is, read through the objective's own denoiser at the sampled noise level, the clean
// data; and the same for the reflow pair coefficients.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OBJECTIVES, objectiveNames, objectiveSettings } from '../../src/train/objectives.js';

const x0 = Float32Array.of(0.5, -0.25, 0.75);
const eps = Float32Array.of(-1.2, 0.4, 0.9);
const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) =>
  Array.from(expected).forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) < 1e-5, `${what} [${i}]: ${actual[i]} vs ${e}`));

for (const name of objectiveNames) {
  test(`${name}: the denoiser of the exact target returns the clean data; so do the pair coefficients`, async () => {
    const settings = objectiveSettings(name, name === 'rf' ? { rfTime: 'logit-normal' } : {});
    const objective = OBJECTIVES[name];
    const process = objective.process(settings);
    for (const [normal, uniform] of [[0.3, 0.4], [-1.5, 0.05], [1.8, 0.9]] as const) {
      const level = objective.sampleLevel(settings, process, normal, uniform);
      const input = new Float32Array(x0.length);
      const target = new Float32Array(x0.length);
      objective.prepare(settings, level, x0, eps, input, target);
      const t = process.tFromRho(level.sigma / level.alpha);
      const noisy = Float64Array.from(x0, (x, i) => process.alpha(t) * x + process.sigma(t) * eps[i]!);
      const denoiser = objective.denoiser(settings, process, async () => Float64Array.from(target));
      close(await denoiser.denoise(noisy, t, { step: 0, stage: 0 }), x0, `${name} at sigma/alpha ${level.sigma / level.alpha}`);
    }
    for (const time of [0.1, 0.5, 0.95]) {
      const c = objective.pair(time, settings.sigmaData);
      const pairInput = Array.from(x0, (x, i) => c.input * ((1 - time) * x + time * eps[i]!));
      const pairTarget = Array.from(x0, (x, i) => c.targetData * x + c.targetNoise * eps[i]!);
      close(pairInput.map((v, i) => c.denoisedInput * v + c.denoisedOutput * pairTarget[i]!), x0, `${name} pair at t = ${time}`);
    }
  });
}
