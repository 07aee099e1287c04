// Time grids: the times a sampler visits, from the noisy end down to the data end t = 0.
//
// "N steps" means N + 1 times. Following EDM, a grid with tMin > 0 spaces its first N times
// from tMax down to tMin by its rule and then takes one last step from tMin to the data end
// t = 0 (sigma = 0), so every sampler returns clean samples and its error against the
// reference solution (also taken to t = 0) is well defined. With tMin = 0 the rule spaces
// all N + 1 times itself (the rectified-flow grid does this by default).

import type { Process } from './process.js';
import { InputError } from '../engine/input-error.js';

interface GridBounds {
  /** First (noisiest) time; default process.tMax. */
  tMax?: number;
  /** Last positive time before the final step to 0; default process.tMin (0 for 'rf'). */
  tMin?: number;
}

export type GridSpec = GridBounds &
  (
    | { kind: 'uniform' }
    /** t^(1/kappa) uniform; kappa = 2 is DEIS's "quadratic". */
    | { kind: 'power'; kappa: number }
    /** Uniform in lambda = log(alpha/sigma), i.e. in log-SNR; needs tMin > 0. */
    | { kind: 'logsnr' }
    /** Karras et al.'s schedule: rho^(1/exponent) uniform, rho = sigma/alpha (EDM's ρ, default 7; not a solver order). */
    | { kind: 'karras'; exponent: number }
    /** Uniform in rectified-flow time sigma/(alpha + sigma), warped by shift·s/(1 + (shift − 1)·s). */
    | { kind: 'rf'; shift: number }
  );

export const gridSyntax =
  'NAME[:key=value...] with NAME one of uniform, quadratic (= power:kappa=2), power:kappa=K, logsnr, karras[:exponent=7], rf[:shift=1]; any grid also takes tmin=T and tmax=T (e.g. karras:tmin=0)';

/** Rectified-flow time of a process time: s = rho/(1 + rho) = sigma/(alpha + sigma). */
export function rectifiedFlowTime(process: Process, t: number): number {
  const alpha = process.alpha(t);
  const sigma = process.sigma(t);
  return sigma / (alpha + sigma);
}

function timeFromRectifiedFlowTime(process: Process, s: number): number {
  return process.tFromRho(s / (1 - s));
}

/** The grid of `steps` steps for `process`: a Float64Array of steps + 1 decreasing times ending exactly at 0. */
export function makeGrid(process: Process, spec: GridSpec, steps: number): Float64Array {
  if (!Number.isInteger(steps) || steps < 1) throw new InputError(`makeGrid: steps must be a positive integer, got ${steps}`);
  const tMax = spec.tMax ?? process.tMax;
  const tMin = spec.tMin ?? (spec.kind === 'rf' ? 0 : process.tMin);
  if (!(tMax > tMin && tMin >= 0)) throw new InputError(`makeGrid: need tMax > tMin >= 0, got tMax=${tMax}, tMin=${tMin}`);
  if (spec.kind === 'logsnr' && tMin === 0) throw new InputError('makeGrid: the logsnr grid needs tMin > 0 (log-SNR is infinite at t = 0)');
  const intervals = tMin > 0 ? steps - 1 : steps;
  const timeAt = spacing(process, spec, tMax, tMin);
  const grid = new Float64Array(steps + 1);
  for (let i = 0; i <= intervals; i++) grid[i] = timeAt(intervals === 0 ? 0 : i / intervals);
  // Pin the ends so that round trips through rho or lambda cannot move them.
  grid[0] = tMax;
  if (intervals > 0) grid[intervals] = tMin;
  grid[steps] = 0;
  validateGrid(grid);
  return grid;
}

/** The map u ∈ [0, 1] → t from tMax (u = 0) to tMin (u = 1) for each kind. */
function spacing(process: Process, spec: GridSpec, tMax: number, tMin: number): (u: number) => number {
  const lerp = (from: number, to: number, u: number) => from + u * (to - from);
  switch (spec.kind) {
    case 'uniform':
      return (u) => lerp(tMax, tMin, u);
    case 'power': {
      if (!(spec.kappa > 0)) throw new InputError(`power grid: kappa must be > 0, got ${spec.kappa}`);
      const k = spec.kappa;
      return (u) => lerp(tMax ** (1 / k), tMin ** (1 / k), u) ** k;
    }
    case 'logsnr': {
      const lambdaMax = process.lambda(tMin);
      const lambdaMin = process.lambda(tMax);
      return (u) => process.tFromLambda(lerp(lambdaMin, lambdaMax, u));
    }
    case 'karras': {
      if (!(spec.exponent > 0)) throw new InputError(`karras grid: exponent must be > 0, got ${spec.exponent}`);
      const k = spec.exponent;
      const rhoMax = process.rho(tMax);
      const rhoMin = tMin > 0 ? process.rho(tMin) : 0;
      return (u) => process.tFromRho(lerp(rhoMax ** (1 / k), rhoMin ** (1 / k), u) ** k);
    }
    case 'rf': {
      if (!(spec.shift > 0)) throw new InputError(`rf grid: shift must be > 0, got ${spec.shift}`);
      const shift = spec.shift;
      const sMax = rectifiedFlowTime(process, tMax);
      const sMin = tMin > 0 ? rectifiedFlowTime(process, tMin) : 0;
      // The warp fixes 0 and 1, so it is applied to the position within [sMin, sMax].
      const warp = (w: number) => (shift * w) / (1 + (shift - 1) * w);
      return (u) => timeFromRectifiedFlowTime(process, sMin + (sMax - sMin) * warp(1 - u));
    }
  }
}

/** Throws unless the grid has at least two finite, strictly decreasing times ending exactly at the data end 0. */
export function validateGrid(grid: Float64Array): void {
  if (grid.length < 2) throw new Error(`grid needs at least 2 times, got ${grid.length}`);
  for (let i = 0; i < grid.length; i++) {
    if (!Number.isFinite(grid[i]!)) throw new Error(`grid time ${i} is not finite (${grid[i]})`);
    if (i > 0 && !(grid[i]! < grid[i - 1]!)) throw new Error(`grid is not strictly decreasing at index ${i} (${grid[i - 1]} then ${grid[i]})`);
  }
  if (grid[grid.length - 1] !== 0) throw new Error(`grid must end exactly at the data end t = 0, ends at ${grid[grid.length - 1]}`);
}

/** Parses the CLI form, e.g. "logsnr", "quadratic", "karras:exponent=7", "rf:shift=3", "karras:tmin=0". */
export function parseGridSpec(text: string): GridSpec {
  const [name = '', ...pairs] = text.trim().split(':');
  const settings = new Map<string, number>();
  for (const pair of pairs) {
    const [key, raw, extra] = pair.split('=');
    const value = Number(raw);
    if (!key || raw === undefined || extra !== undefined || raw.trim() === '' || !Number.isFinite(value)) {
      throw new InputError(`grid '${text}': '${pair}' is not key=number (expected ${gridSyntax})`);
    }
    settings.set(key, value);
  }
  const allowed: Record<string, string[]> = {
    uniform: [], quadratic: [], power: ['kappa'], logsnr: [], karras: ['exponent'], rf: ['shift'],
  };
  const keys = allowed[name];
  if (name === 'karras' && settings.has('order')) throw new InputError(`grid '${text}': the Karras exponent is called 'exponent' (e.g. karras:exponent=3); 'order' is a solver's order`);
  if (!keys) throw new InputError(`unknown grid '${name}' (expected ${gridSyntax})`);
  for (const key of settings.keys()) {
    if (![...keys, 'tmin', 'tmax'].includes(key)) throw new InputError(`grid '${name}' has no setting '${key}' (it takes ${[...keys, 'tmin', 'tmax'].join(', ')})`);
  }
  const bounds: GridBounds = {};
  if (settings.has('tmin')) bounds.tMin = settings.get('tmin')!;
  if (settings.has('tmax')) bounds.tMax = settings.get('tmax')!;
  switch (name) {
    case 'uniform': return { kind: 'uniform', ...bounds };
    case 'quadratic': return { kind: 'power', kappa: 2, ...bounds };
    case 'power': return { kind: 'power', kappa: settings.get('kappa') ?? 2, ...bounds };
    case 'logsnr': return { kind: 'logsnr', ...bounds };
    case 'karras': return { kind: 'karras', exponent: settings.get('exponent') ?? 7, ...bounds };
    default: return { kind: 'rf', shift: settings.get('shift') ?? 1, ...bounds };
  }
}
