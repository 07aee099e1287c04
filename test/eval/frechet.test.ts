import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RngStream } from '../../src/engine/rng.js';
import { type GaussianMoments, featureMoments, frechetDistance, frechetDistanceFromMoments, kid, sqrtPsd, symmetricEigen } from '../../src/eval/frechet.js';

const stream = RngStream.fromSeed(7, 'frechet-test');

function multiply(a: Float64Array, b: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) for (let k = 0; k < dim; k++) out[i * dim + j] += a[i * dim + k]! * b[k * dim + j]!;
  return out;
}

function transpose(a: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) out[j * dim + i] = a[i * dim + j]!;
  return out;
}

/** B Bᵀ for a random dim × rank B: positive semi-definite of the given rank. */
function randomPsd(dim: number, rank: number, label: string): Float64Array {
  const b = stream.derive(label).normal({ start: 0, count: 1 }, dim * rank, new Float64Array(dim * rank));
  const out = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) for (let k = 0; k < rank; k++) out[i * dim + j] += b[i * rank + k]! * b[j * rank + k]!;
  return out;
}

/** A random rotation: the eigenvectors of a random symmetric matrix. */
const randomRotation = (dim: number, label: string): Float64Array => symmetricEigen(randomPsd(dim, dim, label), dim).vectors;

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  return a.reduce((worst, v, i) => Math.max(worst, Math.abs(v - b[i]!)), 0);
}

function gaussian(mean: number[], covariance: Float64Array): GaussianMoments {
  return { dim: mean.length, mean: Float64Array.from(mean), covariance };
}

/** n draws of N(mean, L Lᵀ), flat n × dim. */
function gaussianSamples(n: number, mean: number[], factor: Float64Array, label: string): Float64Array {
  const dim = mean.length;
  const z = stream.derive(label).normal({ start: 0, count: n }, dim, new Float64Array(n * dim));
  const out = new Float64Array(n * dim);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < dim; i++) {
      let v = mean[i]!;
      for (let k = 0; k < dim; k++) v += factor[i * dim + k]! * z[s * dim + k]!;
      out[s * dim + i] = v;
    }
  }
  return out;
}

test('symmetricEigen: A V = V diag(λ) with orthonormal V, also for a singular matrix', () => {
  for (const [dim, rank] of [[24, 24], [16, 5]] as const) {
    const a = randomPsd(dim, rank, `eigen-${dim}`);
    const { values, vectors } = symmetricEigen(a, dim);
    const scaled = vectors.map((v, i) => v * values[i % dim]!);
    assert.ok(maxAbsDiff(multiply(a, vectors, dim), scaled) < 1e-10 * dim);
    const identity = new Float64Array(dim * dim).map((_, i) => (i % (dim + 1) === 0 ? 1 : 0));
    assert.ok(maxAbsDiff(multiply(transpose(vectors, dim), vectors, dim), identity) < 1e-12 * dim);
    assert.equal([...values].filter((v) => Math.abs(v) > 1e-9).length, rank);
  }
});

test('sqrtPsd: squares back to the matrix', () => {
  const dim = 12;
  const a = randomPsd(dim, 7, 'sqrt');
  const root = sqrtPsd(a, dim);
  assert.ok(maxAbsDiff(multiply(root, root, dim), a) < 1e-10);
});

test('FD of Gaussians: closed forms', () => {
  // Commuting (diagonal) covariances: |Δμ|² + Σ (√a − √b)².
  const diagonal = (values: number[]): Float64Array => {
    const out = new Float64Array(values.length ** 2);
    values.forEach((v, i) => (out[i * values.length + i] = v));
    return out;
  };
  const fd = frechetDistanceFromMoments(gaussian([0, 1, 2], diagonal([1, 4, 9])), gaussian([1, 1, 0], diagonal([4, 1, 0.25])));
  assert.ok(Math.abs(fd - (1 + 4 + (1 + 1 + 2.5 ** 2))) < 1e-10);

  // Σ1 = c I: (Σ1^½ Σ2 Σ1^½)^½ = √c Σ2^½, so FD = tr(c I + Σ2) − 2 √c Σ √λ(Σ2) for any Σ2.
  const dim = 6;
  const c = 2.5;
  const sigma2 = randomPsd(dim, dim, 'sigma2');
  let expected = c * dim;
  for (let i = 0; i < dim; i++) expected += sigma2[i * dim + i]!;
  for (const lambda of symmetricEigen(sigma2, dim).values) expected -= 2 * Math.sqrt(c * lambda);
  const zeros = new Array<number>(dim).fill(0);
  const scaledIdentity = diagonal(new Array<number>(dim).fill(c));
  assert.ok(Math.abs(frechetDistanceFromMoments(gaussian(zeros, scaledIdentity), gaussian(zeros, sigma2)) - expected) < 1e-9 * expected);

  // Non-commuting covariances: symmetric in its arguments and unchanged by a common rotation.
  const a = gaussian([1, 0, 0, 0, 0, 2], randomPsd(dim, dim, 'a'));
  const b = gaussian([0, 0, 1, 0, 0, 0], randomPsd(dim, 3, 'b'));
  const ab = frechetDistanceFromMoments(a, b);
  // Loose: the square roots of a singular matrix's rounding-level eigenvalues are ~1e-8, not 0.
  assert.ok(Math.abs(ab - frechetDistanceFromMoments(b, a)) < 1e-6 * ab, `${ab} vs ${frechetDistanceFromMoments(b, a)}`);
  const r = randomRotation(dim, 'rotation');
  const rotate = (g: GaussianMoments): GaussianMoments => ({
    dim,
    mean: Float64Array.from({ length: dim }, (_, i) => g.mean.reduce((s, v, k) => s + r[i * dim + k]! * v, 0)),
    covariance: multiply(multiply(r, g.covariance, dim), transpose(r, dim), dim),
  });
  assert.ok(Math.abs(frechetDistanceFromMoments(rotate(a), rotate(b)) - ab) < 1e-6 * ab);
  assert.ok(frechetDistanceFromMoments(a, a) < 1e-9);
});

test('FD of sample sets: ~0 for identical sets, the analytic value for large Gaussian samples', () => {
  const dim = 3;
  const factorA = Float64Array.from([1, 0, 0, 0.5, 1, 0, 0, 0.3, 0.5]);
  const factorB = Float64Array.from([2, 0, 0, -0.5, 0.5, 0, 0.2, 0, 1]);
  const meanA = [0, 0, 0];
  const meanB = [1, -1, 0.5];
  const a = gaussianSamples(40_000, meanA, factorA, 'samples-a');
  assert.ok(frechetDistance(a, a, dim) < 1e-9);
  const b = gaussianSamples(40_000, meanB, factorB, 'samples-b');
  const exact = frechetDistanceFromMoments(gaussian(meanA, multiply(factorA, transpose(factorA, dim), dim)), gaussian(meanB, multiply(factorB, transpose(factorB, dim), dim)));
  const estimate = frechetDistance(a, b, dim);
  assert.ok(Math.abs(estimate - exact) < 0.03 * exact, `estimate ${estimate}, exact ${exact}`);
  const moments = featureMoments(b, dim);
  assert.ok(Math.abs(moments.mean[0]! - 1) < 0.03 && Math.abs(moments.covariance[0]! - 4) < 0.1);
});

test('KID: matches the closed-form MMD² of two 1-D distributions, and is unbiased (~0) for one distribution', () => {
  // d = 1, k(x, y) = (xy + 1)³: E k(x, y) = m3(x) m3(y) + 3 m2(x) m2(y) + 3 m1(x) m1(y) + 1 for independent
  // x, y. Uniform on [a − 1, a + 1], whose light tails keep the estimate's spread at a few percent:
  // m1 = a, m2 = a² + 1/3, m3 = a³ + a.
  const expectedKernel = (a: number, b: number): number => (a ** 3 + a) * (b ** 3 + b) + 3 * (a * a + 1 / 3) * (b * b + 1 / 3) + 3 * a * b + 1;
  const shift = 0.5;
  const exact = expectedKernel(0, 0) + expectedKernel(shift, shift) - 2 * expectedKernel(0, shift);
  const n = 2000;
  const uniform = (label: string, centre: number): Float64Array => stream.derive(label).uniform({ start: 0, count: n }, 1, new Float64Array(n)).map((u) => 2 * u - 1 + centre);
  const x = uniform('kid-x', 0);
  const estimate = kid(x, uniform('kid-y', shift), 1, { subsets: 4 });
  assert.ok(Math.abs(estimate - exact) < 0.1 * exact, `estimate ${estimate}, exact ${exact}`);
  assert.ok(Math.abs(kid(x, x, 1, { subsets: 4 })) < 0.01 * exact);

  // Same distribution: each estimate scatters around 0, their mean within a few standard errors of it.
  const dim = 8;
  const size = 200;
  const estimates = Array.from({ length: 12 }, (_, i) => {
    const draw = (label: string): Float64Array => stream.derive('kid-same', i, label).normal({ start: 0, count: size }, dim, new Float64Array(size * dim));
    return kid(draw('a'), draw('b'), dim, { subsets: 10 });
  });
  const mean = estimates.reduce((s, v) => s + v, 0) / estimates.length;
  const standardError = Math.sqrt(estimates.reduce((s, v) => s + (v - mean) ** 2, 0) / (estimates.length - 1) / estimates.length);
  assert.ok(estimates.some((v) => v < 0), 'an unbiased estimate is sometimes negative');
  assert.ok(Math.abs(mean) < 3 * standardError, `mean ${mean}, standard error ${standardError}`);
});
