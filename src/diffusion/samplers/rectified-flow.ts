// Rectified-flow samplers (Liu et al. 2023; Lee, Lin & Fanti 2024, "rectified flow++").
// They step in rectified-flow coordinates, s = sigma/(alpha + sigma) and y = x/(alpha + sigma),
// where any process reads y = (1 − s)·x0 + s·eps with velocity u = dy/ds = (y − x0)/s. For
// the RF process these are t and x themselves; for others they are an honest change of
// variables, so rf-euler and rf-heun solve the same ODE with a different discretisation.
//   rf-euler  Euler in s;
//   rf-heun   Heun in s, the step into the data end (s = 0) being Euler (2N − 1 evaluations);
//   rf-new    rectified flow++'s update: estimate x0 = y − s·u (with heun, u is Heun's averaged
//             velocity), then re-noise it with the *initial* noise z:
//             y_{i+1} = (1 − s_{i+1})·x0 + s_{i+1}·z. It is not a solver of the ODE (its
//             error against the ODE solution does not vanish as steps grow) but is exact for
//             perfectly straight flows, where it is meant to be used.

import { rectifiedFlowTime } from '../grids.js';
import type { Process } from '../process.js';
import { combine, SamplerRun, type Sampler } from './common.js';

function velocity(process: Process, t: number, x: Float64Array, denoised: Float64Array): Float64Array {
  const scale = process.alpha(t) + process.sigma(t);
  const s = rectifiedFlowTime(process, t);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! / scale - denoised[i]!) / s;
  return out;
}

/**
 * One step from grid[i] in rectified-flow coordinates: the Euler velocity, and with
 * `corrector` (and a next time short of the data end) Heun's average. Returns the velocity
 * used, or undefined when onStep stopped the run.
 */
async function stepVelocity(run: SamplerRun, i: number, x: Float64Array, corrector: boolean) {
  const { process, grid } = run;
  const [t, next] = [grid[i]!, grid[i + 1]!];
  const denoised = await run.beginStep(i, t, x);
  if (!denoised) return undefined;
  const slope = velocity(process, t, x, denoised);
  if (!corrector || process.sigma(next) === 0) return { slope, denoised };
  const ds = rectifiedFlowTime(process, next) - rectifiedFlowTime(process, t);
  const y = combine([1 / (process.alpha(t) + process.sigma(t)), x]);
  const predicted = combine([process.alpha(next) + process.sigma(next), combine([1, y], [ds, slope])]);
  const slopeNext = velocity(process, next, predicted, await run.denoise(predicted, next, i, 1));
  return { slope: combine([0.5, slope], [0.5, slopeNext]), denoised };
}

function rectifiedFlowOde(corrector: boolean): Sampler {
  return async (denoiser, process, noise, grid, options = {}) => {
    const run = new SamplerRun(denoiser, process, noise, grid, options);
    let x = run.start;
    for (let i = 0; i < run.steps; i++) {
      const step = await stepVelocity(run, i, x, corrector);
      if (!step) return run.stopped(x, i);
      const [t, next] = [grid[i]!, grid[i + 1]!];
      const y = combine([1 / (process.alpha(t) + process.sigma(t)), x], [rectifiedFlowTime(process, next) - rectifiedFlowTime(process, t), step.slope]);
      x = combine([process.alpha(next) + process.sigma(next), y]);
    }
    return run.finish(x);
  };
}

export const rfEuler = rectifiedFlowOde(false);
export const rfHeun = rectifiedFlowOde(true);

export interface RfNewSettings {
  /** Estimate x0 with Heun's averaged velocity (2 evaluations per step) instead of Euler's (default false). */
  heun?: boolean;
}

export const rfNew: Sampler<RfNewSettings> = async (denoiser, process, noise, grid, options = {}) => {
  const run = new SamplerRun(denoiser, process, noise, grid, options);
  let x = run.start;
  for (let i = 0; i < run.steps; i++) {
    const step = await stepVelocity(run, i, x, options.heun ?? false);
    if (!step) return run.stopped(x, i);
    const t = grid[i]!;
    const next = grid[i + 1]!;
    // x0 = y − s·u; in x-coordinates the re-noised point is alpha·x0 + sigma·z.
    const estimate = options.heun
      ? combine([1 / (process.alpha(t) + process.sigma(t)), x], [-rectifiedFlowTime(process, t), step.slope])
      : step.denoised;
    x = combine([process.alpha(next), estimate], [process.sigma(next), noise]);
  }
  return run.finish(x);
};
