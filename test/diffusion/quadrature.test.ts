import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gaussLegendre, integrate } from '../../src/diffusion/quadrature.js';

describe('quadrature', () => {
  it('Gauss–Legendre with n points integrates degree 2n − 1 exactly', () => {
    for (const n of [1, 2, 5, 10]) {
      const { nodes, weights } = gaussLegendre(n);
      const degree = 2 * n - 1;
      const exact = degree % 2 === 0 ? 2 / (degree + 1) : 0;
      const value = nodes.reduce((s, x, i) => s + weights[i]! * x ** degree, 0);
      assert.ok(Math.abs(value - exact) < 1e-14, `n = ${n}`);
      assert.ok(Math.abs(weights.reduce((a, b) => a + b, 0) - 2) < 1e-14);
    }
  });

  it('adapts to kinks and endpoint singularities, in either direction', () => {
    assert.ok(Math.abs(integrate(Math.sqrt, 0, 2) - (2 / 3) * 2 ** 1.5) < 1e-11);
    assert.ok(Math.abs(integrate((x) => Math.abs(x - 0.3), 0, 1) - (0.3 ** 2 + 0.7 ** 2) / 2) < 1e-12);
    assert.ok(Math.abs(integrate(Math.exp, 1, 0) + (Math.E - 1)) < 1e-14);
    assert.equal(integrate(Math.exp, 2, 2), 0);
  });

  it('splits at breakpoints, so that many kinks cost little', () => {
    // |sin(40x)| has 25 kinks on [0, 2]; ∫ = 2·25/40 + (1 − cos(80 − 25π))/40 over the last partial arch.
    const kinks = Array.from({ length: 30 }, (_, k) => (k * Math.PI) / 40);
    const exact = (25 * 2 + (1 - Math.cos(80 - 25 * Math.PI))) / 40;
    assert.ok(Math.abs(integrate((x) => Math.abs(Math.sin(40 * x)), 0, 2, { breakpoints: kinks, maxPanels: 200 }) - exact) < 1e-12);
    assert.ok(Math.abs(integrate((x) => Math.abs(Math.sin(40 * x)), 2, 0, { breakpoints: kinks, maxPanels: 200 }) + exact) < 1e-12);
  });
});
