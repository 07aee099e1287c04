import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ddpmDiscrete, edm, processByName, processNames, rectifiedFlow, vpLinear } from '../../src/diffusion/process.js';

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

describe('processes', () => {
  for (const name of processNames) {
    const process = processByName(name);
    // Off the knots of the discrete schedule, where its derivative jumps.
    const times = [process.tMin, 0.5 * process.tMin, 0.3137 * process.tMax, 0.7713 * process.tMax, process.tMax];

    it(`${name}: the data end t = 0 has alpha = 1, sigma = 0`, () => {
      assert.equal(process.alpha(0), 1);
      assert.equal(process.sigma(0), 0);
      assert.equal(process.rho(0), 0);
    });

    it(`${name}: rho and lambda invert, and rho = sigma/alpha`, () => {
      for (const t of times) {
        close(process.rho(t), process.sigma(t) / process.alpha(t), 1e-12, `rho(${t})`);
        close(process.lambda(t), Math.log(process.alpha(t) / process.sigma(t)), 1e-12, `lambda(${t})`);
        close(process.tFromRho(process.rho(t)), t, 1e-9, `tFromRho(rho(${t}))`);
        close(process.tFromLambda(process.lambda(t)), t, 1e-9, `tFromLambda(lambda(${t}))`);
      }
    });

    it(`${name}: alphaDot and sigmaDot match finite differences`, () => {
      for (const t of times.slice(1, 4)) {
        const h = 1e-6 * t;
        close(process.alphaDot(t), (process.alpha(t + h) - process.alpha(t - h)) / (2 * h), 1e-5, `alphaDot(${t})`);
        close(process.sigmaDot(t), (process.sigma(t + h) - process.sigma(t - h)) / (2 * h), 1e-5, `sigmaDot(${t})`);
      }
    });

    it(`${name}: rho increases with t`, () => {
      for (let i = 1; i < 50; i++) assert.ok(process.rho((i * process.tMax) / 50) > process.rho(((i - 1) * process.tMax) / 50));
    });
  }

  it('VP processes preserve variance and VP linear has the score-SDE alphaBar', () => {
    for (const name of ['vp', 'vp-cosine', 'ddpm']) {
      const process = processByName(name);
      for (const t of [1e-4, 0.1, 0.5, 0.9]) close(process.alpha(t) ** 2 + process.sigma(t) ** 2, 1, 1e-14, `${name} at ${t}`);
    }
    const vp = vpLinear();
    close(vp.alpha(1) ** 2, Math.exp(-0.5 * 19.9 - 0.1), 1e-14, 'alphaBar(1)');
  });

  it('discrete DDPM matches the product of (1 − beta) at integer steps and interpolates between them', () => {
    const ddpm = ddpmDiscrete();
    let alphaBar = 1;
    for (let k = 1; k <= 1000; k++) {
      alphaBar *= 1 - (1e-4 + ((0.02 - 1e-4) * (k - 1)) / 999);
      if (k % 250 === 0 || k === 1) close(ddpm.alpha(k / 1000) ** 2, alphaBar, 1e-12, `alphaBar at step ${k}`);
    }
    const between = ddpm.alpha(0.0105) ** 2;
    close(between, (ddpm.alpha(0.010) ** 2 + ddpm.alpha(0.011) ** 2) / 2, 1e-14, 'midpoint interpolation');
  });

  it('EDM and rectified flow have their closed forms', () => {
    const e = edm();
    assert.equal(e.sigma(3), 3);
    assert.equal(e.tMax, 80);
    const rf = rectifiedFlow();
    close(rf.rho(0.25), 1 / 3, 1e-15, 'rf rho');
    close(rf.tFromRho(1), 0.5, 1e-15, 'rf t(rho = 1)');
  });

  it('rejects unknown names', () => {
    assert.throws(() => processByName('vpp'), /unknown process 'vpp'/);
  });
});
