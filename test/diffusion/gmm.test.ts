import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gmmDenoiser, loadGaussianMixture, parseGaussianMixture, posterior, sampleMixture, shippedProblemPath } from '../../src/diffusion/gmm.js';
import { processByName } from '../../src/diffusion/process.js';
import { integrate } from '../../src/diffusion/quadrature.js';
import { RngStream } from '../../src/engine/rng.js';

describe('Gaussian mixture', () => {
  it('one component: posterior mean is mu + s²/(s² + rho²)·(v − mu), per coordinate', () => {
    const mixture = parseGaussianMixture({ dim: 2, weights: [3], means: [[1, -2]], diag_stds: [[0.5, 2]] });
    const v = Float64Array.of(0.2, 0.7, -3, 5);
    const rho = 1.3;
    const { mean, noise } = posterior(mixture, v, rho);
    const variances = [0.25, 4];
    const mu = [1, -2];
    for (let i = 0; i < 4; i++) {
      const d = i % 2;
      const expected = mu[d]! + (variances[d]! / (variances[d]! + rho * rho)) * (v[i]! - mu[d]!);
      assert.ok(Math.abs(mean[i]! - expected) < 1e-14);
      assert.ok(Math.abs(noise[i]! - (v[i]! - expected) / rho) < 1e-13);
    }
  });

  it('two components in 1-D: posterior mean agrees with direct numerical integration', () => {
    const mixture = parseGaussianMixture({ dim: 1, weights: [0.7, 0.3], means: [[-1], [2]], stds: [0.3, 0.6] });
    const density = (x: number) => 0.7 * Math.exp(-0.5 * ((x + 1) / 0.3) ** 2) / 0.3 + 0.3 * Math.exp(-0.5 * ((x - 2) / 0.6) ** 2) / 0.6;
    for (const rho of [0.05, 0.5, 3]) {
      for (const v of [-1.5, 0.4, 2.2]) {
        const likelihood = (x: number) => Math.exp(-0.5 * ((v - x) / rho) ** 2);
        const numerator = integrate((x) => x * density(x) * likelihood(x), -8, 10, { relativeTolerance: 1e-12 });
        const denominator = integrate((x) => density(x) * likelihood(x), -8, 10, { relativeTolerance: 1e-12 });
        const { mean } = posterior(mixture, Float64Array.of(v), rho);
        assert.ok(Math.abs(mean[0]! - numerator / denominator) < 1e-9, `rho ${rho}, v ${v}: ${mean[0]} vs ${numerator / denominator}`);
      }
    }
  });

  it('the denoiser under a process is the posterior mean at v = x/alpha, rho = sigma/alpha, and 0 noise at rho = 0', async () => {
    const mixture = parseGaussianMixture({ dim: 1, weights: [1, 1], means: [[-1], [1]], stds: [0.2, 0.4] });
    const vp = processByName('vp');
    const t = 0.3;
    const x = Float64Array.of(0.1, -0.4);
    const denoised = await gmmDenoiser(mixture, vp).denoise(x, t, { step: 0, stage: 0 });
    const direct = posterior(mixture, x.map((xi) => xi / vp.alpha(t)), vp.rho(t)).mean;
    assert.deepEqual(denoised, direct);
    const clean = posterior(mixture, x, 0);
    clean.mean.forEach((m, i) => assert.ok(Math.abs(m - x[i]!) < 1e-15));
    assert.deepEqual(Array.from(clean.noise), [0, 0]);
  });

  it('samples have the mixture mean and variance', () => {
    const mixture = parseGaussianMixture({ dim: 1, weights: [0.25, 0.75], means: [[-2], [1]], stds: [0.5, 1] });
    const n = 40000;
    const draws = sampleMixture(mixture, RngStream.fromSeed(7), { start: 0, count: n });
    const mean = draws.reduce((a, b) => a + b, 0) / n;
    const variance = draws.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    const trueMean = 0.25 * -2 + 0.75 * 1;
    const trueVariance = 0.25 * (0.25 + 4) + 0.75 * (1 + 1) - trueMean ** 2;
    assert.ok(Math.abs(mean - trueMean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(variance - trueVariance) < 0.06, `variance ${variance}`);
  });

  it('rejects malformed problems with messages naming the problem', () => {
    const bad: Array<[unknown, RegExp]> = [
      [[1, 2], /expected a JSON object/],
      [{ dim: 0, weights: [1], means: [[]], stds: [1] }, /"dim" must be a positive integer/],
      [{ dim: 1, weights: [1, -1], means: [[0], [1]], stds: [1, 1] }, /"weights" must all be > 0/],
      [{ dim: 2, weights: [1], means: [[0]], stds: [1] }, /"means"\[0\] must be an array of 2 numbers/],
      [{ dim: 1, weights: [1], means: [[0]] }, /exactly one of "stds"/],
      [{ dim: 1, weights: [1], means: [[0]], stds: [0] }, /"stds" must be 1 numbers > 0/],
      [{ dim: 1, weights: [1], means: [[0]], std: [1] }, /unknown key 'std'/],
    ];
    for (const [json, pattern] of bad) assert.throws(() => parseGaussianMixture(json, 'test.json'), (e: Error) => pattern.test(e.message) && e.message.startsWith('test.json: '));
  });

  it('loads files, names unreadable or invalid ones, and finds the shipped problems', () => {
    const directory = mkdtempSync(join(tmpdir(), 'hasten-gmm-'));
    const path = join(directory, 'broken.json');
    writeFileSync(path, '{ "dim": 1,');
    assert.throws(() => loadGaussianMixture(path), /is not valid JSON/);
    assert.throws(() => loadGaussianMixture(join(directory, 'missing.json')), /cannot read problem file/);
    const shipped = loadGaussianMixture(shippedProblemPath('default-gmm'));
    assert.equal(shipped.dim, 64);
    assert.ok(Math.abs(shipped.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.equal(loadGaussianMixture(shippedProblemPath('smooth-gmm')).dim, 8);
  });
});
