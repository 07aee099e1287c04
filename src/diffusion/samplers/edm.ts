// Euler and EDM's Heun sampler (Karras et al. 2022, Algorithms 1 and 2) on the
// probability-flow ODE in the process's own time t:
//   dx/dt = alphaDot·x0 + sigmaDot·eps,  x0 = D(x; t),  eps = (x − alpha·x0)/sigma,
// which is EDM's general form with s(t) = alpha(t) and sigma_EDM(t) = rho(t). For the EDM
// process (t = sigma, alpha = 1) euler is DDIM and heun is deis-rhork2 plus churn; for VP
// they step in t itself, the baseline exponential integrators improve on. They need alphaDot
// and sigmaDot, which jump at the knots of the discrete DDPM schedule; that caps their order
// there once steps get shorter than a knot interval.

import type { Process } from '../process.js';
import { combine, SamplerRun, type Sampler } from './common.js';

function derivative(process: Process, t: number, x: Float64Array, denoised: Float64Array): Float64Array {
  const alpha = process.alpha(t);
  const alphaDot = process.alphaDot(t);
  const sigmaDotOverSigma = process.sigmaDot(t) / process.sigma(t);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = alphaDot * denoised[i]! + sigmaDotOverSigma * (x[i]! - alpha * denoised[i]!);
  return out;
}

export const euler: Sampler = async (denoiser, process, noise, grid, options = {}) => {
  const run = new SamplerRun(denoiser, process, noise, grid, options);
  let x = run.start;
  for (let i = 0; i < run.steps; i++) {
    const t = grid[i]!;
    const denoised = await run.beginStep(i, t, x);
    if (!denoised) return run.stopped(x, i);
    x = combine([1, x], [grid[i + 1]! - t, derivative(process, t, x, denoised)]);
  }
  return run.finish(x);
};

export interface HeunSettings {
  /** EDM's S_churn: total noise injected, spread over the steps (0 = deterministic, the default). */
  churn?: number;
  /** Churn only where rho lies in [churnMin, churnMax] (EDM's S_min, S_max; defaults 0 and ∞). */
  churnMin?: number;
  churnMax?: number;
  /** EDM's S_noise: scale of the injected noise, slightly above 1 to offset denoiser bias (default 1). */
  churnNoise?: number;
}

/**
 * EDM's Heun: an Euler predictor and a trapezoidal corrector, except into the data end where
 * sigma = 0 (one evaluation), so N steps cost 2N − 1 evaluations. Churn first raises the
 * noise level from rho to rho·(1 + gamma) by adding fresh noise, gamma = min(churn/N, √2 − 1).
 */
export const heun: Sampler<HeunSettings> = async (denoiser, process, noise, grid, options = {}) => {
  const { churn = 0, churnMin = 0, churnMax = Infinity, churnNoise = 1 } = options;
  if (!(churn >= 0)) throw new Error(`heun: churn must be >= 0, got ${churn}`);
  const run = new SamplerRun(denoiser, process, noise, grid, options);
  const gamma = Math.min(churn / run.steps, Math.SQRT2 - 1);
  let x = run.start;
  for (let i = 0; i < run.steps; i++) {
    let t = grid[i]!;
    const next = grid[i + 1]!;
    const rho = process.rho(t);
    if (gamma > 0 && rho >= churnMin && rho <= churnMax) {
      const raisedRho = Math.min(rho * (1 + gamma), process.rho(process.tMax));
      const raisedT = process.tFromRho(raisedRho);
      const fresh = run.freshNoise(x.length, i, 'heun churn > 0');
      const scale = process.alpha(raisedT) / process.alpha(t);
      const added = process.alpha(raisedT) * Math.sqrt(raisedRho * raisedRho - rho * rho) * churnNoise;
      x = combine([scale, x], [added, fresh]);
      t = raisedT;
    }
    const denoised = await run.beginStep(i, t, x);
    if (!denoised) return run.stopped(x, i);
    const slope = derivative(process, t, x, denoised);
    const predicted = combine([1, x], [next - t, slope]);
    if (process.sigma(next) === 0) {
      x = predicted;
      continue;
    }
    const corrected = await run.denoise(predicted, next, i, 1);
    const slopeNext = derivative(process, next, predicted, corrected);
    x = combine([1, x], [(next - t) / 2, slope], [(next - t) / 2, slopeNext]);
  }
  return run.finish(x);
};
