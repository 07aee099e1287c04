// DDIM (Song, Meng & Ermon 2021) for any process: predict x0, keep the implied noise, and
// re-noise to the next level. eta > 0 swaps part of that noise for fresh noise (eta = 1 is
// DDPM's ancestral sampler on VP). Deterministic DDIM is the exponential integrator of
// order 0 (DEIS) and Euler's method in (v = x/alpha, rho = sigma/alpha).

import { combine, impliedNoise, SamplerRun, type Sampler } from './common.js';

export interface DdimSettings {
  /** Share of fresh noise: 0 is deterministic DDIM (default), 1 is DDPM-like. */
  eta?: number;
}

export const ddim: Sampler<DdimSettings> = async (denoiser, process, noise, grid, options = {}) => {
  const eta = options.eta ?? 0;
  if (!(eta >= 0)) throw new Error(`ddim: eta must be >= 0, got ${eta}`);
  const run = new SamplerRun(denoiser, process, noise, grid, options);
  let x = run.start;
  for (let i = 0; i < run.steps; i++) {
    const [t, next] = [grid[i]!, grid[i + 1]!];
    const denoised = await run.beginStep(i, t, x);
    if (!denoised) return run.stopped(x, i);
    const eps = impliedNoise(process, t, x, denoised);
    const sigmaNext = process.sigma(next);
    // DDIM's sigma_t, written for any alpha/sigma: eta·sigma_next·√(1 − (rho_next/rho)²).
    const fresh = eta > 0 ? eta * sigmaNext * Math.sqrt(Math.max(0, 1 - (process.rho(next) / process.rho(t)) ** 2)) : 0;
    const kept = Math.sqrt(Math.max(0, sigmaNext * sigmaNext - fresh * fresh));
    x = combine([process.alpha(next), denoised], [kept, eps], [fresh, fresh > 0 ? run.freshNoise(x.length, i, 'ddim eta > 0') : eps]);
  }
  return run.finish(x);
};
