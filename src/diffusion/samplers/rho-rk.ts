// DEIS's rhoRK (Zhang & Chen 2023): a classical explicit Runge–Kutta method on
// dv/drho = eps(alpha·v, t(rho)), v = x/alpha, where the ODE is as gentle as it gets (it is
// linear in rho for a Gaussian). Stages cost one evaluation each. A stage at rho = 0 would
// ask the denoiser for the noise in a clean sample, so the step into the data end is an
// Euler (DDIM) step, as in EDM's Heun: N steps cost stages·(N − 1) + 1 evaluations.

import { combine, impliedNoise, SamplerRun, type Sampler } from './common.js';

export interface ButcherTableau {
  /** Stage nodes as fractions of the step. */
  c: number[];
  /** Lower-triangular stage coefficients; a[s] has s entries. */
  a: number[][];
  /** Weights of the stage slopes in the update. */
  b: number[];
}

export const tableaus = {
  heun2: { c: [0, 1], a: [[], [1]], b: [1 / 2, 1 / 2] },
  kutta3: { c: [0, 1 / 2, 1], a: [[], [1 / 2], [-1, 2]], b: [1 / 6, 4 / 6, 1 / 6] },
  rk4: { c: [0, 1 / 2, 1 / 2, 1], a: [[], [1 / 2], [0, 1 / 2], [0, 0, 1]], b: [1 / 6, 2 / 6, 2 / 6, 1 / 6] },
} satisfies Record<string, ButcherTableau>;

export interface RhoRkSettings {
  /** The Runge–Kutta method (default classical RK4). */
  tableau?: ButcherTableau;
}

export const rhoRk: Sampler<RhoRkSettings> = async (denoiser, process, noise, grid, options = {}) => {
  const { c, a, b } = options.tableau ?? tableaus.rk4;
  const run = new SamplerRun(denoiser, process, noise, grid, options);
  let x = run.start;
  for (let i = 0; i < run.steps; i++) {
    const [t, next] = [grid[i]!, grid[i + 1]!];
    const denoised = await run.beginStep(i, t, x);
    if (!denoised) return run.stopped(x, i);
    const v = combine([1 / process.alpha(t), x]);
    const rho = process.rho(t);
    const h = process.rho(next) - rho;
    const slopes = [impliedNoise(process, t, x, denoised)];
    if (process.sigma(next) > 0) {
      for (let s = 1; s < c.length; s++) {
        const stageT = c[s] === 1 ? next : process.tFromRho(rho + c[s]! * h);
        const stageV = combine([1, v], ...a[s]!.map((coefficient, j) => [h * coefficient, slopes[j]!] as const));
        const stageX = combine([process.alpha(stageT), stageV]);
        slopes.push(impliedNoise(process, stageT, stageX, await run.denoise(stageX, stageT, i, s)));
      }
    }
    const weights = slopes.length === 1 ? [1] : b;
    x = combine([process.alpha(next), combine([1, v], ...slopes.map((slope, s) => [h * weights[s]!, slope] as const))]);
  }
  return run.finish(x);
};
