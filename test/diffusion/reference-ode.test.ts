import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGaussianMixture } from '../../src/diffusion/gmm.js';
import { processByName } from '../../src/diffusion/process.js';
import { dormandPrince, referenceSolution } from '../../src/diffusion/reference-ode.js';

describe('reference ODE solver', () => {
  it('Dormand–Prince meets its tolerance on y′ = −y·cos t, backwards too', () => {
    const f = (t: number, y: Float64Array) => y.map((v) => -v * Math.cos(t));
    const forward = dormandPrince(f, Float64Array.of(1, 2), 0, 5);
    const exact = Math.exp(-Math.sin(5));
    assert.ok(Math.abs(forward.y[0]! - exact) < 1e-9 && Math.abs(forward.y[1]! - 2 * exact) < 2e-9);
    const backward = dormandPrince(f, forward.y, 5, 0);
    assert.ok(Math.abs(backward.y[0]! - 1) < 1e-9);
  });

  it('solves the probability-flow ODE of a Gaussian exactly: v(rho) = mu + (v_T − mu)·√((s² + rho²)/(s² + rho_T²))', () => {
    const mixture = parseGaussianMixture({ dim: 3, weights: [1], means: [[0.5, -1, 2]], diag_stds: [[0.05, 0.3, 1.5]] });
    for (const name of ['vp', 'edm', 'rf']) {
      const process = processByName(name);
      const x = Float64Array.of(1.3, -0.7, 0.2).map((z) => z * process.sigma(process.tMax));
      const { y } = referenceSolution(mixture, process, x, process.tMax);
      const rhoT = process.rho(process.tMax);
      const v = x.map((xi) => xi / process.alpha(process.tMax));
      [0.05, 0.3, 1.5].forEach((s, d) => {
        const mu = [0.5, -1, 2][d]!;
        const expected = mu + (v[d]! - mu) * Math.sqrt(s * s / (s * s + rhoT * rhoT));
        assert.ok(Math.abs(y[d]! - expected) < 1e-8, `${name}, coordinate ${d}: ${y[d]} vs ${expected}`);
      });
    }
  });
});
