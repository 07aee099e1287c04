// Gaussian-mixture data: the one distribution whose denoiser is exact, so that a sampler's
// error can be measured against the true solution of the probability-flow ODE.
//
// Problem files are JSON: { "dim": D, "weights": [...], "means": [[...], ...], "stds": [...] }
// (one isotropic std per component) or "diag_stds": [[...], ...] instead of "stds"; an
// optional "description" string is kept for reports. Weights are normalised on load.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../paths.js';
import type { Denoiser } from './denoiser.js';
import type { Process } from './process.js';
import { InputError } from '../engine/input-error.js';
import { type RngStream, type SampleSelection } from '../engine/rng.js';

export interface GaussianMixture {
  dim: number;
  components: number;
  /** Mixture weights, summing to 1. */
  weights: Float64Array;
  /** components × dim, row-major. */
  means: Float64Array;
  /** Per-coordinate variances, components × dim, row-major (isotropic components repeat one value). */
  variances: Float64Array;
  description?: string;
}

function isNumberArray(value: unknown, length?: number): value is number[] {
  return Array.isArray(value) && (length === undefined || value.length === length) && value.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** Checks a parsed problem file and builds the mixture; `source` names the file in errors. */
export function parseGaussianMixture(json: unknown, source = 'problem'): GaussianMixture {
  const fail = (message: string): never => {
    throw new InputError(`${source}: ${message}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('expected a JSON object with dim, weights, means and stds or diag_stds');
  const spec = json as Record<string, unknown>;
  const allowed = ['dim', 'weights', 'means', 'stds', 'diag_stds', 'description'];
  for (const key of Object.keys(spec)) if (!allowed.includes(key)) fail(`unknown key '${key}' (allowed: ${allowed.join(', ')})`);
  const dim = spec.dim;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1) fail(`"dim" must be a positive integer, got ${JSON.stringify(dim)}`);
  const D = dim as number;
  if (!isNumberArray(spec.weights) || spec.weights.length === 0) fail('"weights" must be a non-empty array of numbers');
  const weightList = spec.weights as number[];
  const K = weightList.length;
  if (weightList.some((w) => w <= 0)) fail('"weights" must all be > 0');
  if (!Array.isArray(spec.means) || spec.means.length !== K) fail(`"means" must be an array of ${K} arrays (one per weight)`);
  const means = new Float64Array(K * D);
  (spec.means as unknown[]).forEach((mean, k) => {
    if (!isNumberArray(mean, D)) fail(`"means"[${k}] must be an array of ${D} numbers`);
    means.set(mean as number[], k * D);
  });
  if ((spec.stds === undefined) === (spec.diag_stds === undefined)) fail('give exactly one of "stds" (one per component) or "diag_stds" (one array of dim per component)');
  const variances = new Float64Array(K * D);
  if (spec.stds !== undefined) {
    if (!isNumberArray(spec.stds, K) || spec.stds.some((s) => s <= 0)) fail(`"stds" must be ${K} numbers > 0`);
    (spec.stds as number[]).forEach((s, k) => variances.fill(s * s, k * D, (k + 1) * D));
  } else {
    if (!Array.isArray(spec.diag_stds) || spec.diag_stds.length !== K) fail(`"diag_stds" must be an array of ${K} arrays`);
    (spec.diag_stds as unknown[]).forEach((stds, k) => {
      if (!isNumberArray(stds, D) || stds.some((s) => s <= 0)) fail(`"diag_stds"[${k}] must be ${D} numbers > 0`);
      (stds as number[]).forEach((s, d) => (variances[k * D + d] = s * s));
    });
  }
  if (spec.description !== undefined && typeof spec.description !== 'string') fail('"description" must be a string');
  const total = weightList.reduce((a, b) => a + b, 0);
  const mixture: GaussianMixture = { dim: D, components: K, weights: Float64Array.from(weightList, (w) => w / total), means, variances };
  if (typeof spec.description === 'string') mixture.description = spec.description;
  return mixture;
}

/** Reads and checks a problem file; errors name the file. */
export function loadGaussianMixture(path: string): GaussianMixture {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read problem file '${path}': ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`problem file '${path}' is not valid JSON: ${(error as Error).message}`);
  }
  return parseGaussianMixture(json, `problem file '${path}'`);
}

/** The shipped problems live in src/diffusion/problems/; found from the package root so that compiled code in dist/ finds them too. */
export function shippedProblemPath(name: 'default-gmm' | 'smooth-gmm'): string {
  const path = join(packageRoot(), 'src', 'diffusion', 'problems', `${name}.json`);
  if (!existsSync(path)) throw new InputError(`the shipped problem '${name}.json' is missing from ${dirname(path)}`);
  return path;
}

/**
 * The exact posterior of x0 given v = x0 + rho·eps (that is, x_t/alpha at rho = sigma/alpha,
 * which every process reduces to): component k has responsibility
 * r_k ∝ w_k·N(v; mu_k, S_k + rho²) and posterior mean mu_k + S_k/(S_k + rho²)·(v − mu_k).
 * Returns the posterior mean E[x0 | v] and the matching noise E[eps | v] = (v − mean)/rho,
 * the latter computed directly so that it stays exact (and 0) as rho → 0.
 */
export function posterior(mixture: GaussianMixture, v: Float64Array, rho: number): { mean: Float64Array; noise: Float64Array } {
  const { dim: D, components: K, weights, means, variances } = mixture;
  if (v.length % D !== 0) throw new Error(`posterior: ${v.length} values are not a whole number of ${D}-vectors`);
  if (!(rho >= 0) || !Number.isFinite(rho)) throw new Error(`posterior: rho must be finite and >= 0, got ${rho}`);
  const rho2 = rho * rho;
  const inverse = new Float64Array(K * D);
  const logNormaliser = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let logDet = 0;
    for (let d = 0; d < D; d++) {
      const total = variances[k * D + d]! + rho2;
      inverse[k * D + d] = 1 / total;
      logDet += Math.log(total);
    }
    logNormaliser[k] = Math.log(weights[k]!) - 0.5 * logDet;
  }
  const n = v.length / D;
  const mean = new Float64Array(v.length);
  const noise = new Float64Array(v.length);
  const logResponsibility = new Float64Array(K);
  for (let s = 0; s < n; s++) {
    const offset = s * D;
    let best = -Infinity;
    for (let k = 0; k < K; k++) {
      const row = k * D;
      let quadratic = 0;
      for (let d = 0; d < D; d++) {
        const diff = v[offset + d]! - means[row + d]!;
        quadratic += diff * diff * inverse[row + d]!;
      }
      const value = logNormaliser[k]! - 0.5 * quadratic;
      logResponsibility[k] = value;
      if (value > best) best = value;
    }
    let total = 0;
    for (let k = 0; k < K; k++) {
      const weight = Math.exp(logResponsibility[k]! - best);
      logResponsibility[k] = weight;
      total += weight;
    }
    for (let k = 0; k < K; k++) {
      const r = logResponsibility[k]! / total;
      // Components this unlikely change no digit of the result; skipping them halves the cost at low noise.
      if (r < 1e-20) continue;
      const row = k * D;
      const rRho = r * rho;
      for (let d = 0; d < D; d++) {
        const mu = means[row + d]!;
        const shrink = inverse[row + d]!;
        const diff = v[offset + d]! - mu;
        mean[offset + d] += r * (mu + variances[row + d]! * shrink * diff);
        noise[offset + d] += rRho * shrink * diff;
      }
    }
  }
  return { mean, noise };
}

/** The exact denoiser E[x0 | x_t = x] under any process. */
export function gmmDenoiser(mixture: GaussianMixture, process: Process): Denoiser {
  return {
    async denoise(x, t) {
      const alpha = process.alpha(t);
      return posterior(mixture, x.map((xi) => xi / alpha), process.rho(t)).mean;
    },
  };
}

/** Draws from the mixture for the selected samples, flat (samples × dim); sample k depends only on (stream, k). */
export function sampleMixture(mixture: GaussianMixture, stream: RngStream, samples: SampleSelection): Float64Array {
  const { dim: D, components: K, weights, means, variances } = mixture;
  const choices = stream.uniform(samples, 1, new Float64Array('start' in samples ? samples.count : samples.length));
  const out = stream.normal(samples, D, new Float64Array(choices.length * D));
  choices.forEach((u, s) => {
    let k = 0;
    for (let cumulative = weights[0]!; k < K - 1 && u >= cumulative; cumulative += weights[++k]!);
    for (let d = 0; d < D; d++) out[s * D + d] = means[k * D + d]! + Math.sqrt(variances[k * D + d]!) * out[s * D + d]!;
  });
  return out;
}
