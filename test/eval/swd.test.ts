import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RngStream } from '../../src/engine/rng.js';
import { medianDistance, mmdRbf, slicedWasserstein, wasserstein1dSquared } from '../../src/eval/swd.js';

function gaussianSet(n: number, dim: number, seed: number, shift = 0): Float64Array {
  return RngStream.fromSeed(seed).normal({ start: 0, count: n }, dim, new Float64Array(n * dim)).map((z) => z + shift);
}

describe('sliced Wasserstein and MMD', () => {
  it('1-D W2² is exact for equal and unequal sizes', () => {
    assert.equal(wasserstein1dSquared(Float64Array.of(0, 1, 2), Float64Array.of(1, 2, 3)), 1);
    // Quantiles of {0, 1} against {0, 0, 3}: on [0, 1/2) 0 vs 0, [1/2, 2/3) 1 vs 0, [2/3, 1) 1 vs 3.
    assert.ok(Math.abs(wasserstein1dSquared(Float64Array.of(0, 1), Float64Array.of(0, 0, 3)) - (1 / 6 + (4 * 1) / 3)) < 1e-15);
  });

  it('is 0 for identical sets and |c|/√dim for a set shifted by c', () => {
    const a = gaussianSet(200, 4, 1);
    assert.equal(slicedWasserstein(a, a, 4), 0);
    const shifted = a.map((v) => v + 0.5);
    // Each projection moves by θ·c, and E[(θ·c)²] = |c|²/dim for uniform θ.
    const swd = slicedWasserstein(a, shifted, 4, { projections: 4000 });
    assert.ok(Math.abs(swd - 0.5) < 0.02, `swd ${swd}`);
  });

  it('separates different distributions from same-distribution sampling noise', () => {
    const dim = 5;
    const a = gaussianSet(300, dim, 1);
    const b = gaussianSet(300, dim, 2);
    const c = gaussianSet(300, dim, 3, 0.4);
    assert.ok(slicedWasserstein(a, c, dim) > 2 * slicedWasserstein(a, b, dim));
    const same = mmdRbf(a, b, dim);
    const different = mmdRbf(a, c, dim);
    assert.ok(Math.abs(same) < 0.01, `same ${same}`);
    assert.ok(different > 5 * Math.abs(same) && different > 0.02, `different ${different}`);
    assert.ok(medianDistance(a, b, dim) > 2 && medianDistance(a, b, dim) < 4);
  });

  it('rejects malformed input', () => {
    assert.throws(() => slicedWasserstein(new Float64Array(5), new Float64Array(4), 2), /5 values are not a whole number of 2-vectors/);
    assert.throws(() => mmdRbf(new Float64Array(2), new Float64Array(4), 2), /need at least 2 samples/);
    assert.throws(() => mmdRbf(new Float64Array(4), new Float64Array(4), 2, { bandwidths: [0] }), /bandwidths must be > 0/);
  });
});
