// DEIS's multistep exponential integrators (Zhang & Chen 2023) and iPNDM, all of the form
//   v_{i+1} = v_i + Σ_j w_ij·eps_{i−j},   v = x/alpha,  x_{i+1} = alpha_{i+1}·v_{i+1},
// the exact solution of dv/drho = eps with eps replaced by a polynomial through the current
// and past noise predictions (Adams–Bashforth in rho-space). They differ only in w:
//   deis-tab k    polynomial of degree k in t, w_ij = ∫ l_j(t(rho)) drho by quadrature;
//   deis-rhoab k  polynomial of degree k in rho, w_ij = ∫ l_j(rho) drho in closed form;
//   ipndm         the fixed equal-step Adams–Bashforth weights (order up to 4) times the step in rho.
// Degree 0 is DDIM. Warm-up: step i uses degree min(k, i), i.e. only the points it has; the
// step into the data end (rho = 0) keeps the full degree, as the polynomials extend there.

import type { Process } from '../process.js';
import { integrate } from '../quadrature.js';
import { combine, impliedNoise, SamplerRun, type Sampler } from './common.js';

/** The Lagrange basis polynomial l_j on `nodes`, at x. */
function lagrangeBasis(nodes: readonly number[], j: number, x: number): number {
  let value = 1;
  for (let m = 0; m < nodes.length; m++) if (m !== j) value *= (x - nodes[m]!) / (nodes[j]! - nodes[m]!);
  return value;
}

/** ∫_a^b l_j(x) dx for every j, exactly: each basis polynomial is expanded in powers of (x − a), which keeps it well conditioned. */
export function lagrangeIntegrals(nodes: readonly number[], a: number, b: number): number[] {
  const width = b - a;
  return nodes.map((node, j) => {
    let coefficients = [1];
    let denominator = 1;
    nodes.forEach((other, m) => {
      if (m === j) return;
      const root = other - a;
      // Multiply by (y − root), y = x − a.
      const product = new Array<number>(coefficients.length + 1).fill(0);
      coefficients.forEach((c, p) => {
        product[p + 1] += c;
        product[p] -= c * root;
      });
      coefficients = product;
      denominator *= node - other;
    });
    return coefficients.reduce((sum, c, p) => sum + (c * width ** (p + 1)) / (p + 1), 0) / denominator;
  });
}

export type DeisBasis = 't' | 'rho';

/**
 * DEIS weights for every step of `grid`: row i holds w_ij for the noise predictions at grid
 * points i, i − 1, ..., i − min(degree, i). Computed once per grid, before sampling.
 */
export function deisWeights(process: Process, grid: Float64Array, degree: number, basis: DeisBasis): Float64Array[] {
  if (!Number.isInteger(degree) || degree < 0) throw new Error(`DEIS degree must be an integer >= 0, got ${degree}`);
  const weights: Float64Array[] = [];
  const kinks = Array.from(process.knots ?? [], (t) => process.rho(t));
  for (let i = 0; i + 1 < grid.length; i++) {
    const used = Math.min(degree, i);
    const past = Array.from({ length: used + 1 }, (_, j) => grid[i - j]!);
    const from = process.rho(grid[i]!);
    const to = process.rho(grid[i + 1]!);
    if (basis === 'rho') {
      weights.push(Float64Array.from(lagrangeIntegrals(past.map((t) => process.rho(t)), from, to)));
    } else {
      weights.push(Float64Array.from(past, (_, j) => integrate((rho) => lagrangeBasis(past, j, process.tFromRho(rho)), from, to, { breakpoints: kinks })));
    }
  }
  return weights;
}

/** Adams–Bashforth weights for equal steps, newest first, by number of points used. */
const adamsBashforth = [[1], [3 / 2, -1 / 2], [23 / 12, -16 / 12, 5 / 12], [55 / 24, -59 / 24, 37 / 24, -9 / 24]];

/** iPNDM weights: the equal-step Adams–Bashforth combination of min(order, i + 1) noise predictions, times the step in rho. */
export function ipndmWeights(process: Process, grid: Float64Array, order: number): Float64Array[] {
  if (!Number.isInteger(order) || order < 1 || order > 4) throw new Error(`ipndm: order must be 1, 2, 3 or 4, got ${order}`);
  const weights: Float64Array[] = [];
  for (let i = 0; i + 1 < grid.length; i++) {
    const step = process.rho(grid[i + 1]!) - process.rho(grid[i]!);
    weights.push(Float64Array.from(adamsBashforth[Math.min(order, i + 1) - 1]!, (c) => c * step));
  }
  return weights;
}

async function multistepInRho(run: SamplerRun, weights: Float64Array[]) {
  const { process, grid } = run;
  const noiseHistory: Float64Array[] = [];
  let x = run.start;
  for (let i = 0; i < run.steps; i++) {
    const t = grid[i]!;
    const denoised = await run.beginStep(i, t, x);
    if (!denoised) return run.stopped(x, i);
    noiseHistory.unshift(impliedNoise(process, t, x, denoised));
    const row = weights[i]!;
    noiseHistory.length = Math.min(noiseHistory.length, row.length);
    const v = combine([1 / process.alpha(t), x], ...Array.from(row, (w, j) => [w, noiseHistory[j]!] as const));
    x = combine([process.alpha(grid[i + 1]!), v]);
  }
  return run.finish(x);
}

export interface DeisSettings {
  /** Degree of the noise polynomial: 0 is DDIM, 1..3 use 2..4 points (nominal order degree + 1). */
  degree?: number;
}

export const deisTab: Sampler<DeisSettings> = async (denoiser, process, noise, grid, options = {}) => {
  const run = new SamplerRun(denoiser, process, noise, grid, options);
  return multistepInRho(run, deisWeights(process, grid, options.degree ?? 3, 't'));
};

export const deisRhoab: Sampler<DeisSettings> = async (denoiser, process, noise, grid, options = {}) => {
  const run = new SamplerRun(denoiser, process, noise, grid, options);
  return multistepInRho(run, deisWeights(process, grid, options.degree ?? 3, 'rho'));
};

export interface IpndmSettings {
  /** Number of noise predictions combined once warmed up, 1..4 (default 4). */
  order?: number;
}

export const ipndm: Sampler<IpndmSettings> = async (denoiser, process, noise, grid, options = {}) => {
  const run = new SamplerRun(denoiser, process, noise, grid, options);
  return multistepInRho(run, ipndmWeights(process, grid, options.order ?? 4));
};
