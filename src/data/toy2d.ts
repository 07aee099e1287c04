// The classic 2-D toy distributions of the diffusion and flow literature (as in FFJORD's toy data),
// each standardised: centred on its exact mean and divided by one scale, so that the average
// per-coordinate variance is exactly 1 (the trace of the covariance is 2) while the shape keeps its
// aspect ratio. Every sample is an exact draw from the distribution, so they are also the "true
// distribution" that SWD and MMD are measured against.
//
// Raw distributions, before standardising:
// - eight-gaussians: eight equal Gaussians centred on the unit circle at multiples of 45 degrees, std
//   0.125 (FFJORD's radius 4, std 0.5, shrunk by 4). Class = component, counter-clockwise from +x.
// - two-moons: scikit-learn's make_moons with noise 0.1: the upper half circle and the lower one shifted
//   to (1, 0.5), with the angle uniform on [0, pi]. Class 0 = upper moon, 1 = lower.
// - checkerboard: uniform on the 8 squares of a 4x4 board on [-2, 2]^2 whose row + column is even.
// - swiss-roll: scikit-learn's 2-D swiss roll (t cos t, t sin t) with t uniform on [1.5 pi, 4.5 pi],
//   plus Gaussian noise of std 0.5.
// Means and variances are exact: closed forms, except the swiss roll's, computed by Simpson's rule.

import { hostTensor } from '../engine/host-tensor.js';
import { RngStream } from '../engine/rng.js';
import { type Dataset, type DatasetBatch, selectionIndices } from './dataset.js';

export const TOY2D_NAMES = ['eight-gaussians', 'two-moons', 'checkerboard', 'swiss-roll'] as const;
export type Toy2dName = (typeof TOY2D_NAMES)[number];

interface RawPoint {
  x: number;
  y: number;
  label: number;
}

interface Toy2dDistribution {
  /** Uniforms in [0, 1) one draw consumes. */
  uniforms: number;
  classNames?: readonly string[];
  /** Exact mean of the raw distribution. */
  mean: readonly [number, number];
  /** Exact average per-coordinate variance of the raw distribution. */
  variance: number;
  /** One raw point from its uniforms and two standard normals; label 0 when the distribution has no classes. */
  draw(u: Float64Array, z: Float64Array): RawPoint;
}

const EIGHT_GAUSSIANS_STD = 0.125;
const MOONS_NOISE = 0.1;
const SWISS_ROLL_NOISE = 0.5;
const SWISS_ROLL_T_MIN = 1.5 * Math.PI;
const SWISS_ROLL_T_MAX = 4.5 * Math.PI;

/** Simpson's rule for the mean of f over [a, b]; f is smooth, so 4096 intervals are exact to double precision in practice. */
function averageOver(f: (t: number) => number, a: number, b: number, intervals = 4096): number {
  const h = (b - a) / intervals;
  let sum = f(a) + f(b);
  for (let i = 1; i < intervals; i++) sum += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
  return (sum * h) / 3 / (b - a);
}

function swissRollMoments(): { mean: [number, number]; variance: number } {
  const average = (f: (t: number) => number): number => averageOver(f, SWISS_ROLL_T_MIN, SWISS_ROLL_T_MAX);
  const mean: [number, number] = [average((t) => t * Math.cos(t)), average((t) => t * Math.sin(t))];
  const secondMoment = average((t) => t * t);
  return { mean, variance: (secondMoment - mean[0] ** 2 - mean[1] ** 2) / 2 + SWISS_ROLL_NOISE ** 2 };
}

const DISTRIBUTIONS: Record<Toy2dName, Toy2dDistribution> = {
  'eight-gaussians': {
    uniforms: 1,
    classNames: ['0 deg', '45 deg', '90 deg', '135 deg', '180 deg', '225 deg', '270 deg', '315 deg'],
    mean: [0, 0],
    variance: 0.5 + EIGHT_GAUSSIANS_STD ** 2,
    draw(u, z) {
      const label = Math.floor(u[0]! * 8);
      const angle = (label * Math.PI) / 4;
      return { x: Math.cos(angle) + EIGHT_GAUSSIANS_STD * z[0]!, y: Math.sin(angle) + EIGHT_GAUSSIANS_STD * z[1]!, label };
    },
  },
  'two-moons': {
    uniforms: 2,
    classNames: ['upper moon', 'lower moon'],
    // Per moon, with a = pi·u: E[cos a] = 0, E[sin a] = 2/pi, E[cos² a] = E[sin² a] = 1/2; so Var x = 3/4 and Var y = 9/16 - 1/pi.
    mean: [0.5, 0.25],
    variance: (0.75 + 0.5625 - 1 / Math.PI) / 2 + MOONS_NOISE ** 2,
    draw(u, z) {
      const label = u[0]! < 0.5 ? 0 : 1;
      const angle = Math.PI * u[1]!;
      const x = label === 0 ? Math.cos(angle) : 1 - Math.cos(angle);
      const y = label === 0 ? Math.sin(angle) : 0.5 - Math.sin(angle);
      return { x: x + MOONS_NOISE * z[0]!, y: y + MOONS_NOISE * z[1]!, label };
    },
  },
  checkerboard: {
    uniforms: 3,
    mean: [0, 0],
    // Each coordinate is uniform on [-2, 2]: every row and every column holds two of the eight squares.
    variance: 16 / 12,
    draw(u) {
      const square = Math.floor(u[0]! * 8);
      const row = Math.floor(square / 2);
      const column = 2 * (square % 2) + (row % 2);
      return { x: column - 2 + u[1]!, y: row - 2 + u[2]!, label: 0 };
    },
  },
  'swiss-roll': {
    uniforms: 1,
    ...swissRollMoments(),
    draw(u, z) {
      const t = SWISS_ROLL_T_MIN + (SWISS_ROLL_T_MAX - SWISS_ROLL_T_MIN) * u[0]!;
      return { x: t * Math.cos(t) + SWISS_ROLL_NOISE * z[0]!, y: t * Math.sin(t) + SWISS_ROLL_NOISE * z[1]!, label: 0 };
    },
  },
};

export function isToy2dName(name: string): name is Toy2dName {
  return (TOY2D_NAMES as readonly string[]).includes(name);
}

/** The standardised toy distribution `toy2d:<name>`. */
export function toy2dDataset(name: Toy2dName): Dataset {
  const distribution = DISTRIBUTIONS[name];
  const scale = 1 / Math.sqrt(distribution.variance);
  const [meanX, meanY] = distribution.mean;
  const { classNames } = distribution;
  return {
    name: `toy2d:${name}`,
    kind: 'points',
    shape: [2],
    ...(classNames && { numClasses: classNames.length, classNames }),
    hasCaptions: false,
    sample(selection, seed): DatasetBatch {
      const indices = selectionIndices(selection);
      const stream = RngStream.fromSeed(seed, 'toy2d', name);
      const uniforms = stream.uniform(indices, distribution.uniforms, new Float64Array(indices.length * distribution.uniforms));
      const normals = stream.normal(indices, 2, new Float64Array(indices.length * 2));
      const points = new Float32Array(indices.length * 2);
      const labels = new BigInt64Array(indices.length);
      for (let i = 0; i < indices.length; i++) {
        const u = uniforms.subarray(i * distribution.uniforms, (i + 1) * distribution.uniforms);
        const point = distribution.draw(u, normals.subarray(2 * i, 2 * i + 2));
        points[2 * i] = (point.x - meanX) * scale;
        points[2 * i + 1] = (point.y - meanY) * scale;
        labels[i] = BigInt(point.label);
      }
      const batch: DatasetBatch = { indices, x: hostTensor('float32', [indices.length, 2], points) };
      if (classNames) batch.labels = hostTensor('int64', [indices.length], labels);
      return batch;
    },
  };
}
