import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RngStream } from '../../src/engine/rng.js';
import { sampleTimes, timeDistribution, uShapedCdf, uShapedDensity, uShapedQuantile } from '../../src/reflow/timesteps.js';

const n = 20_000;
const uniforms = RngStream.fromSeed(1, 'test').uniform({ start: 0, count: n }, 1, new Float64Array(n));
const normals = RngStream.fromSeed(1, 'test-normal').normal({ start: 0, count: n }, 1, new Float64Array(n));

/** Kolmogorov–Smirnov statistic of samples against a CDF. */
function ks(samples: Float64Array, cdf: (t: number) => number): number {
  const sorted = Float64Array.from(samples).sort();
  let worst = 0;
  sorted.forEach((t, i) => {
    const f = cdf(t);
    worst = Math.max(worst, Math.abs(f - i / sorted.length), Math.abs(f - (i + 1) / sorted.length));
  });
  return worst;
}

// At n = 20,000 the KS statistic of a correct sampler exceeds 1.63/√n with probability 1%.
const ksBound = 1.63 / Math.sqrt(n);

test('the U-shaped quantile inverts its CDF, and the density integrates to 1 with its minimum at 1/2', () => {
  for (const a of [0.5, 4, 10]) {
    for (const u of [0, 0.01, 0.3, 0.5, 0.77, 1]) assert.ok(Math.abs(uShapedCdf(uShapedQuantile(u, a), a) - u) < 1e-12);
    let mass = 0;
    const cells = 10_000;
    for (let i = 0; i < cells; i++) mass += uShapedDensity((i + 0.5) / cells, a) / cells;
    assert.ok(Math.abs(mass - 1) < 1e-6, `a = ${a}: mass ${mass}`);
    assert.ok(uShapedDensity(0.5, a) < uShapedDensity(0.2, a) && uShapedDensity(0.2, a) < uShapedDensity(0, a));
  }
});

test('u-shaped times follow cosh(a(t − 1/2)) exactly (KS), and match rectified flow++\'s mixture draw', () => {
  const distribution = timeDistribution('u-shaped', { epsilon: 0 });
  const times = sampleTimes(distribution, uniforms, normals);
  assert.ok(ks(times, (t) => uShapedCdf(t, 4)) < ksBound);
  // rfpp: s from a·e^{as}/(e^a − 1) by its inverse CDF, replaced by 1 − s with probability 1/2.
  const flips = RngStream.fromSeed(2, 'flip').uniform({ start: 0, count: n }, 1, new Float64Array(n));
  const mixture = uniforms.map((u, i) => {
    const s = Math.log1p(u * Math.expm1(4)) / 4;
    return flips[i]! < 0.5 ? s : 1 - s;
  });
  assert.ok(ks(mixture, (t) => uShapedCdf(t, 4)) < ksBound);
  // A histogram check of the shape: the end tenths hold cosh-weighted mass, far more than the middle.
  const share = (lo: number, hi: number) => times.filter((t) => t >= lo && t < hi).length / n;
  assert.ok(Math.abs(share(0, 0.1) - (uShapedCdf(0.1, 4) - uShapedCdf(0, 4))) < 0.01);
  assert.ok(share(0, 0.1) > 2.5 * share(0.45, 0.55));
});

test('uniform and logit-normal times, mapped onto [epsilon, 1 − epsilon]', () => {
  const uniform = sampleTimes(timeDistribution('uniform', { epsilon: 0.1 }), uniforms, normals);
  assert.ok(uniform.every((t) => t >= 0.1 && t <= 0.9));
  assert.ok(ks(uniform, (t) => (t - 0.1) / 0.8) < ksBound);
  const logit = sampleTimes(timeDistribution('logit-normal', { epsilon: 0, logitMean: 0.5, logitStd: 2 }), uniforms, normals);
  const logits = logit.map((t) => (Math.log(t / (1 - t)) - 0.5) / 2);
  const mean = logits.reduce((a, b) => a + b) / n;
  const variance = logits.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `logit(t) standardised: mean ${mean}, variance ${variance}`);
});

test('bad distribution settings are clear errors', () => {
  assert.throws(() => timeDistribution('beta'), /unknown time distribution 'beta' \(known: uniform, logit-normal, u-shaped\)/);
  assert.throws(() => timeDistribution('u-shaped', { uShapeA: 0 }), /a > 0/);
  assert.throws(() => timeDistribution('uniform', { epsilon: 0.5 }), /epsilon must be in \[0, 0.5\)/);
});
