// Distances between two sets of feature vectors (flat, n × dim, float64): the Fréchet distance
// between the Gaussians fitted to them (FD: FID's formula, but in our own feature network's space,
// so never call it FID) and KID's unbiased kernel MMD² with the cubic polynomial kernel.
//
// The matrix square root of FD comes from a symmetric eigendecomposition by cyclic Jacobi rotations:
// for the ~128-d features here it takes milliseconds, is accurate to rounding for the small
// eigenvalues that decide the trace, and needs no linear-algebra dependency.

import { RngStream, type Seed } from '../engine/rng.js';

function rowCount(name: string, set: Float64Array, dim: number, minimum: number): number {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`dim must be a positive integer, got ${dim}`);
  if (set.length % dim !== 0) throw new Error(`${name}: ${set.length} values are not a whole number of ${dim}-vectors`);
  const n = set.length / dim;
  if (n < minimum) throw new Error(`${name}: need at least ${minimum} samples, got ${n}`);
  for (const v of set) if (!Number.isFinite(v)) throw new Error(`${name}: holds a non-finite value (${v})`);
  return n;
}

/** The mean and covariance of a Gaussian, the covariance row-major dim × dim. */
export interface GaussianMoments {
  dim: number;
  mean: Float64Array;
  covariance: Float64Array;
}

/** Sample mean and unbiased (n − 1) sample covariance of a set of n × dim vectors. */
export function featureMoments(set: Float64Array, dim: number): GaussianMoments {
  const n = rowCount('featureMoments', set, dim, 2);
  const mean = new Float64Array(dim);
  for (let s = 0; s < n; s++) for (let d = 0; d < dim; d++) mean[d] += set[s * dim + d]!;
  for (let d = 0; d < dim; d++) mean[d] /= n;
  const covariance = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let s = 0; s < n; s++) {
    for (let d = 0; d < dim; d++) centred[d] = set[s * dim + d]! - mean[d]!;
    for (let i = 0; i < dim; i++) {
      const ci = centred[i]!;
      for (let j = i; j < dim; j++) covariance[i * dim + j] += ci * centred[j]!;
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const value = covariance[i * dim + j]! / (n - 1);
      covariance[i * dim + j] = value;
      covariance[j * dim + i] = value;
    }
  }
  return { dim, mean, covariance };
}

export interface SymmetricEigen {
  /** Eigenvalues, unsorted. */
  values: Float64Array;
  /** Eigenvectors as the columns of a row-major dim × dim matrix: column k belongs to values[k]. */
  vectors: Float64Array;
}

const MAX_SWEEPS = 64;

/**
 * Eigenvalues and eigenvectors of a symmetric matrix (row-major dim × dim; only its symmetry is
 * assumed, the upper triangle is read) by cyclic Jacobi rotations. A rotation is skipped once its
 * off-diagonal entry is negligible beside the two diagonal entries it couples (the Demmel–Veselić
 * test, which keeps small eigenvalues accurate to rounding relative to themselves) or beside the whole
 * matrix; the sweeps stop when one makes no rotation.
 */
export function symmetricEigen(matrix: Float64Array, dim: number): SymmetricEigen {
  if (matrix.length !== dim * dim) throw new Error(`symmetricEigen: ${matrix.length} values do not make a ${dim} × ${dim} matrix`);
  const a = new Float64Array(dim * dim);
  let frobeniusSquared = 0;
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const value = matrix[i * dim + j]!;
      if (!Number.isFinite(value)) throw new Error(`symmetricEigen: entry (${i}, ${j}) is ${value}`);
      a[i * dim + j] = value;
      a[j * dim + i] = value;
      frobeniusSquared += (i === j ? 1 : 2) * value * value;
    }
  }
  const vectors = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) vectors[i * dim + i] = 1;
  const negligible = Number.EPSILON * 1e-3 * Math.sqrt(frobeniusSquared);

  for (let sweep = 0; ; sweep++) {
    if (sweep === MAX_SWEEPS) throw new Error(`symmetricEigen: no convergence after ${MAX_SWEEPS} sweeps`);
    let rotated = false;
    for (let p = 0; p < dim - 1; p++) {
      for (let q = p + 1; q < dim; q++) {
        const apq = a[p * dim + q]!;
        const app = a[p * dim + p]!;
        const aqq = a[q * dim + q]!;
        if (Math.abs(apq) <= Number.EPSILON * Math.sqrt(Math.abs(app * aqq)) || Math.abs(apq) <= negligible) continue;
        rotated = true;
        // The rotation angle that zeroes a[p][q], with |angle| <= pi/4 for stability (Rutishauser).
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.hypot(theta, 1));
        const c = 1 / Math.hypot(t, 1);
        const s = t * c;
        for (let r = 0; r < dim; r++) {
          if (r === p || r === q) continue;
          const arp = a[r * dim + p]!;
          const arq = a[r * dim + q]!;
          a[r * dim + p] = a[p * dim + r] = c * arp - s * arq;
          a[r * dim + q] = a[q * dim + r] = s * arp + c * arq;
        }
        a[p * dim + p] = app - t * apq;
        a[q * dim + q] = aqq + t * apq;
        a[p * dim + q] = a[q * dim + p] = 0;
        for (let r = 0; r < dim; r++) {
          const vrp = vectors[r * dim + p]!;
          const vrq = vectors[r * dim + q]!;
          vectors[r * dim + p] = c * vrp - s * vrq;
          vectors[r * dim + q] = s * vrp + c * vrq;
        }
      }
    }
    if (!rotated) break;
  }
  const values = new Float64Array(dim);
  for (let i = 0; i < dim; i++) values[i] = a[i * dim + i]!;
  return { values, vectors };
}

/**
 * The symmetric square root of a positive semi-definite matrix. Eigenvalues that rounding pushed
 * below zero are taken as zero.
 */
export function sqrtPsd(matrix: Float64Array, dim: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, dim);
  const roots = values.map((v) => Math.sqrt(Math.max(v, 0)));
  const out = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      let sum = 0;
      for (let k = 0; k < dim; k++) sum += vectors[i * dim + k]! * roots[k]! * vectors[j * dim + k]!;
      out[i * dim + j] = sum;
      out[j * dim + i] = sum;
    }
  }
  return out;
}

function multiply(a: Float64Array, b: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let k = 0; k < dim; k++) {
      const aik = a[i * dim + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < dim; j++) out[i * dim + j] += aik * b[k * dim + j]!;
    }
  }
  return out;
}

/**
 * FD between two Gaussians: |μ1 − μ2|² + tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½). The symmetric form of the
 * cross term keeps every matrix symmetric positive semi-definite, so only eigenvalues are needed.
 */
export function frechetDistanceFromMoments(a: GaussianMoments, b: GaussianMoments): number {
  if (a.dim !== b.dim) throw new Error(`frechetDistance: the Gaussians have dimensions ${a.dim} and ${b.dim}`);
  const dim = a.dim;
  let meanTerm = 0;
  for (let d = 0; d < dim; d++) meanTerm += (a.mean[d]! - b.mean[d]!) ** 2;
  let traces = 0;
  for (let d = 0; d < dim; d++) traces += a.covariance[d * dim + d]! + b.covariance[d * dim + d]!;
  const rootA = sqrtPsd(a.covariance, dim);
  const cross = multiply(multiply(rootA, b.covariance, dim), rootA, dim);
  let crossTrace = 0;
  for (const value of symmetricEigen(cross, dim).values) crossTrace += Math.sqrt(Math.max(value, 0));
  // A squared distance: a tiny negative value is rounding between two equal sets.
  return Math.max(0, meanTerm + traces - 2 * crossTrace);
}

/** FD between the Gaussians fitted to two feature sets (n × dim each, any sizes of at least 2). */
export function frechetDistance(a: Float64Array, b: Float64Array, dim: number): number {
  return frechetDistanceFromMoments(featureMoments(a, dim), featureMoments(b, dim));
}

export interface KidOptions {
  /** Random subsets averaged over (default 100, as in KID's reference implementation). */
  subsets?: number;
  /** Vectors per subset from each set (default 1000), capped at the smaller set's size. */
  subsetSize?: number;
  /** Seed of the subset draws; keep it fixed to compare distances (default 0). */
  seed?: Seed;
}

/** k(x, y) = (x·y / dim + 1)³ between every row of `a` and every row of `b`, row-major rows(a) × rows(b). */
function polynomialKernelMatrix(a: Float64Array, b: Float64Array, dim: number): Float64Array {
  const n = a.length / dim;
  const m = b.length / dim;
  const symmetric = a === b;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = symmetric ? i : 0; j < m; j++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += a[i * dim + d]! * b[j * dim + d]!;
      out[i * m + j] = (dot / dim + 1) ** 3;
      if (symmetric) out[j * m + i] = out[i * m + j]!;
    }
  }
  return out;
}

/** The three kernel matrices KID reads: within each set and across them. */
export interface KidKernels {
  n: number;
  m: number;
  withinA: Float64Array; // n × n
  withinB: Float64Array; // m × m
  across: Float64Array; // n × m
}

/**
 * KID's kernel matrices of two sets (n × dim and m × dim). A set compared with several others passes
 * its within-set matrix from an earlier call instead of computing it again.
 */
export function kidKernels(a: Float64Array, b: Float64Array, dim: number, known: { withinA?: Float64Array; withinB?: Float64Array } = {}): KidKernels {
  const n = rowCount('kid: first set', a, dim, 2);
  const m = rowCount('kid: second set', b, dim, 2);
  return { n, m, withinA: known.withinA ?? polynomialKernelMatrix(a, a, dim), withinB: known.withinB ?? polynomialKernelMatrix(b, b, dim), across: polynomialKernelMatrix(a, b, dim) };
}

/**
 * KID's estimate (Bińkowski et al., "Demystifying MMD GANs", 2018): the unbiased MMD² with the cubic
 * polynomial kernel, averaged over random subsets drawn without replacement. Unbiased, so it can be
 * slightly negative for sets from one distribution. The kernel matrices are computed once and the
 * subsets read from them, which costs O((n + m)²) memory: fine for the few thousand samples of an
 * evaluation.
 */
export function kid(a: Float64Array, b: Float64Array, dim: number, options: KidOptions = {}): number {
  return kidFromKernels(kidKernels(a, b, dim), options);
}

/** KID's subset estimate from kernels already computed (see kid). */
export function kidFromKernels(kernels: KidKernels, options: KidOptions = {}): number {
  const { n, m, withinA, withinB, across } = kernels;
  const subsets = options.subsets ?? 100;
  const requestedSize = options.subsetSize ?? 1000;
  if (!Number.isInteger(subsets) || subsets < 1) throw new Error(`kid: subsets must be a positive integer, got ${subsets}`);
  if (!Number.isInteger(requestedSize) || requestedSize < 2) throw new Error(`kid: subsetSize must be an integer >= 2, got ${requestedSize}`);
  const size = Math.min(requestedSize, n, m);
  const sumWithin = (kernel: Float64Array, stride: number, rows: Int32Array): number => {
    let sum = 0;
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) if (i !== j) sum += kernel[rows[i]! * stride + rows[j]!]!;
    return sum;
  };
  const stream = RngStream.fromSeed(options.seed ?? 0, 'kid');
  let total = 0;
  for (let s = 0; s < subsets; s++) {
    const rowsA = stream.derive(s, 'a').permutation(n).subarray(0, size);
    const rowsB = stream.derive(s, 'b').permutation(m).subarray(0, size);
    let sumAcross = 0;
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) sumAcross += across[rowsA[i]! * m + rowsB[j]!]!;
    total += (sumWithin(withinA, n, rowsA) + sumWithin(withinB, m, rowsB)) / (size * (size - 1)) - (2 * sumAcross) / (size * size);
  }
  return total / subsets;
}
