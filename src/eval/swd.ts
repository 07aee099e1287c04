// Distances between two sample sets (flat, n × dim): the sliced Wasserstein distance and the
// kernel MMD with RBF kernels at several bandwidths. Both compare whole distributions, so
// they catch a sampler that is accurate per trajectory yet lands in the wrong modes.

import { RngStream } from '../engine/rng.js';

function checkSet(name: string, set: Float64Array, dim: number, minimum: number): number {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`dim must be a positive integer, got ${dim}`);
  if (set.length % dim !== 0) throw new Error(`${name}: ${set.length} values are not a whole number of ${dim}-vectors`);
  const n = set.length / dim;
  if (n < minimum) throw new Error(`${name}: need at least ${minimum} samples, got ${n}`);
  return n;
}

/** `count` directions drawn uniformly from the unit sphere in `dim` dimensions, flat (count × dim). */
export function randomDirections(dim: number, count: number, seed: number): Float64Array {
  const directions = RngStream.fromSeed(seed, 'swd directions').normal({ start: 0, count }, dim, new Float64Array(count * dim));
  for (let p = 0; p < count; p++) {
    const direction = directions.subarray(p * dim, (p + 1) * dim);
    const norm = Math.sqrt(direction.reduce((sum, z) => sum + z * z, 0));
    for (let d = 0; d < dim; d++) direction[d]! /= norm;
  }
  return directions;
}

/** W2² between the empirical distributions of two sorted samples of any sizes: ∫_0^1 (F_a⁻¹(q) − F_b⁻¹(q))² dq, exactly. */
export function wasserstein1dSquared(sortedA: Float64Array, sortedB: Float64Array): number {
  const n = sortedA.length;
  const m = sortedB.length;
  let i = 0;
  let j = 0;
  let q = 0;
  let total = 0;
  while (i < n && j < m) {
    const nextA = (i + 1) / n;
    const nextB = (j + 1) / m;
    const next = Math.min(nextA, nextB);
    total += (sortedA[i]! - sortedB[j]!) ** 2 * (next - q);
    q = next;
    if (nextA <= next) i++;
    if (nextB <= next) j++;
  }
  return total;
}

function project(set: Float64Array, dim: number, directions: Float64Array, p: number): Float64Array {
  const n = set.length / dim;
  const out = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += set[s * dim + d]! * directions[p * dim + d]!;
    out[s] = dot;
  }
  return out.sort();
}

export interface SlicedWassersteinOptions {
  /** Number of random directions (default 256). */
  projections?: number;
  /** Seed of the directions; keep it fixed to compare distances (default 0). */
  seed?: number;
}

/** Sliced 2-Wasserstein distance: √(mean over random directions θ of W2²(θ·a, θ·b)). */
export function slicedWasserstein(a: Float64Array, b: Float64Array, dim: number, options: SlicedWassersteinOptions = {}): number {
  checkSet('slicedWasserstein: first set', a, dim, 1);
  checkSet('slicedWasserstein: second set', b, dim, 1);
  const projections = options.projections ?? 256;
  if (!Number.isInteger(projections) || projections < 1) throw new Error(`slicedWasserstein: projections must be a positive integer, got ${projections}`);
  const directions = randomDirections(dim, projections, options.seed ?? 0);
  let total = 0;
  for (let p = 0; p < projections; p++) total += wasserstein1dSquared(project(a, dim, directions, p), project(b, dim, directions, p));
  return Math.sqrt(total / projections);
}

function squaredDistance(a: Float64Array, i: number, b: Float64Array, j: number, dim: number): number {
  let sum = 0;
  for (let d = 0; d < dim; d++) sum += (a[i * dim + d]! - b[j * dim + d]!) ** 2;
  return sum;
}

/** Median distance between points of the pooled sets (on at most 500 of each), the usual RBF bandwidth scale. */
export function medianDistance(a: Float64Array, b: Float64Array, dim: number): number {
  const pooled = [a.subarray(0, Math.min(a.length, 500 * dim)), b.subarray(0, Math.min(b.length, 500 * dim))];
  const points = pooled.flatMap((set) => Array.from({ length: set.length / dim }, (_, s) => set.subarray(s * dim, (s + 1) * dim)));
  const distances: number[] = [];
  for (let i = 0; i < points.length; i++) for (let j = i + 1; j < points.length; j++) distances.push(Math.sqrt(squaredDistance(points[i]!, 0, points[j]!, 0, dim)));
  distances.sort((x, y) => x - y);
  return distances[Math.floor(distances.length / 2)] ?? 0;
}

export interface MmdOptions {
  /** RBF bandwidths h in k(x, y) = exp(−|x − y|²/(2h²)); default the median distance times 0.5, 1 and 2. */
  bandwidths?: number[];
}

/**
 * Unbiased estimate of MMD² with the kernel averaged over the bandwidths (may be slightly
 * negative when the sets come from the same distribution).
 */
export function mmdRbf(a: Float64Array, b: Float64Array, dim: number, options: MmdOptions = {}): number {
  const n = checkSet('mmdRbf: first set', a, dim, 2);
  const m = checkSet('mmdRbf: second set', b, dim, 2);
  const bandwidths = options.bandwidths ?? [0.5, 1, 2].map((f) => f * medianDistance(a, b, dim));
  if (bandwidths.length === 0 || bandwidths.some((h) => !(h > 0))) throw new Error(`mmdRbf: bandwidths must be > 0, got [${bandwidths.join(', ')}]`);
  const kernel = (x: Float64Array, i: number, y: Float64Array, j: number) => {
    const d2 = squaredDistance(x, i, y, j, dim);
    let sum = 0;
    for (const h of bandwidths) sum += Math.exp(-d2 / (2 * h * h));
    return sum / bandwidths.length;
  };
  const within = (set: Float64Array, size: number) => {
    let sum = 0;
    for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) sum += kernel(set, i, set, j);
    return (2 * sum) / (size * (size - 1));
  };
  let across = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) across += kernel(a, i, b, j);
  return within(a, n) + within(b, m) - (2 * across) / (n * m);
}
