// Measures samplers on an exact Gaussian-mixture problem: every sampler starts from the same
// noise, and its samples are compared with the reference solution of the probability-flow
// ODE from that noise (truncation error) and with fresh samples of the mixture (distribution).

import { slicedWasserstein } from '../eval/swd.js';
import { gmmDenoiser, sampleMixture, type GaussianMixture } from '../diffusion/gmm.js';
import { makeGrid, type GridSpec } from '../diffusion/grids.js';
import { initialState, type Process } from '../diffusion/process.js';
import { referenceSolution } from '../diffusion/reference-ode.js';
import { getSampler, stepsForNfe } from '../diffusion/samplers/index.js';
import { RngStream } from '../engine/rng.js';

export interface SamplerBenchmarkConfig {
  mixture: GaussianMixture;
  process: Process;
  grid: GridSpec;
  samplers: readonly string[];
  /** Requested NFEs; each sampler gets the number of steps whose cost is closest. */
  nfes: readonly number[];
  samples: number;
  seed: number;
  /** Directions for the sliced Wasserstein distance (default 512). */
  projections?: number;
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface SamplerBenchmarkRow {
  sampler: string;
  /** NFE actually used. */
  nfe: number;
  /** Median over samples of each sample's RMS error against the reference. */
  err: number;
  /** RMS error over all samples and coordinates. */
  rmse: number;
  /** Sliced Wasserstein distance to fresh samples of the mixture. */
  swd: number;
}

export interface SamplerBenchmarkResult {
  results: SamplerBenchmarkRow[];
  /** The swd between two fresh sample sets of the same size: what a perfect sampler would score. */
  swd_floor: number;
  /** Per sampler, minus the least-squares slope of log err against log NFE over its rows. */
  orders: Record<string, number>;
  reference: { acceptedSteps: number; evaluations: number };
}

/** Median over samples of the per-sample RMS difference, and the RMS over everything. */
export function sampleErrors(x: Float64Array, reference: Float64Array, dim: number): { err: number; rmse: number } {
  const n = x.length / dim;
  const perSample = new Float64Array(n);
  let total = 0;
  for (let s = 0; s < n; s++) {
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += (x[s * dim + d]! - reference[s * dim + d]!) ** 2;
    perSample[s] = Math.sqrt(sum / dim);
    total += sum;
  }
  perSample.sort();
  const median = n % 2 ? perSample[(n - 1) / 2]! : (perSample[n / 2 - 1]! + perSample[n / 2]!) / 2;
  return { err: median, rmse: Math.sqrt(total / x.length) };
}

/** Minus the least-squares slope of log y against log x (NaN with fewer than two usable points). */
export function convergenceOrder(points: ReadonlyArray<readonly [number, number]>): number {
  const usable = points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(y)).map(([x, y]) => [Math.log(x), Math.log(y)] as const);
  if (new Set(usable.map(([x]) => x)).size < 2) return NaN;
  const meanX = usable.reduce((s, [x]) => s + x, 0) / usable.length;
  const meanY = usable.reduce((s, [, y]) => s + y, 0) / usable.length;
  const covariance = usable.reduce((s, [x, y]) => s + (x - meanX) * (y - meanY), 0);
  const variance = usable.reduce((s, [x]) => s + (x - meanX) ** 2, 0);
  return -covariance / variance;
}

export async function runSamplerBenchmark(config: SamplerBenchmarkConfig): Promise<SamplerBenchmarkResult> {
  const { mixture, process, samplers, nfes, samples, seed } = config;
  const definitions = samplers.map(getSampler);
  if (!Number.isInteger(samples) || samples < 2) throw new Error(`samples must be an integer >= 2, got ${samples}`);
  const D = mixture.dim;
  const all = { start: 0, count: samples };
  const noise = RngStream.fromSeed(seed, 'noise').normal(all, D, new Float64Array(samples * D));
  const truth = sampleMixture(mixture, RngStream.fromSeed(seed, 'truth'), all);
  const swdOptions = { projections: config.projections ?? 512, seed };
  const swdFloor = slicedWasserstein(sampleMixture(mixture, RngStream.fromSeed(seed, 'floor'), all), truth, D, swdOptions);

  const tStart = makeGrid(process, config.grid, 1)[0]!;
  const total = definitions.length * nfes.length + 1;
  config.onProgress?.(0, total, 'reference solution');
  const reference = referenceSolution(mixture, process, initialState(process, tStart, noise), tStart);
  const denoiser = gmmDenoiser(mixture, process);

  const results: SamplerBenchmarkRow[] = [];
  const orders: Record<string, number> = {};
  let done = 1;
  for (const definition of definitions) {
    const rows: SamplerBenchmarkRow[] = [];
    const stepCounts = new Set<number>();
    for (const nfe of nfes) {
      config.onProgress?.(done++, total, `${definition.name} at ${nfe} NFE`);
      const steps = stepsForNfe(definition, nfe);
      if (stepCounts.has(steps)) continue;
      stepCounts.add(steps);
      const { x, nfe: used } = await definition.sample(denoiser, process, noise, makeGrid(process, config.grid, steps));
      rows.push({ sampler: definition.name, nfe: used, ...sampleErrors(x, reference.y, D), swd: slicedWasserstein(x, truth, D, swdOptions) });
    }
    orders[definition.name] = convergenceOrder(rows.map((r) => [r.nfe, r.err]));
    results.push(...rows);
  }
  config.onProgress?.(total, total, 'done');
  return { results, swd_floor: swdFloor, orders, reference: { acceptedSteps: reference.acceptedSteps, evaluations: reference.evaluations } };
}
