// The samplers by their CLI names, with what N steps cost, so callers can match a requested NFE.
// Every sampler works for every process through alpha(t) and sigma(t); the coincidences are
// ddim = rf-euler always, euler = ddim and heun = deis-rhork2 (without churn) for EDM, and
// euler = rf-euler, heun = rf-heun for rectified flow. rf-new is not a solver of the ODE.

import { InputError } from '../../engine/input-error.js';
import type { Denoiser } from '../denoiser.js';
import type { Process } from '../process.js';
import type { SampleResult, Sampler, SamplerOptions } from './common.js';
import { ddim } from './ddim.js';
import { deisRhoab, deisTab, ipndm } from './deis-multistep.js';
import { dpmSolverPlusPlus } from './dpm-solver.js';
import { euler, heun } from './edm.js';
import { rfEuler, rfHeun, rfNew } from './rectified-flow.js';
import { rhoRk, tableaus } from './rho-rk.js';
import { uniPc } from './unipc.js';

export interface SamplerDefinition {
  name: string;
  summary: string;
  /** Nominal order of accuracy on a smooth problem (0 for rf-new, which does not converge to the ODE solution). */
  order: number;
  /** Denoiser evaluations that N steps cost on a grid ending at the data end. */
  nfe(steps: number): number;
  /** Step i makes one evaluation, at grid[i]: the noise levels of all calls are known in advance. */
  evaluatesAtGridPoints: boolean;
  /** The numeric settings it takes (e.g. heun's churn), each with a one-line description. */
  settings: Readonly<Record<string, string>>;
  /** Runs the sampler; `settings` holds values for some of the keys of `settings` above (checked by checkSamplerSettings). */
  sample(denoiser: Denoiser, process: Process, noise: Float64Array, grid: Float64Array, options?: SamplerOptions, settings?: SamplerSettings): Promise<SampleResult>;
}

/** Values of a sampler's numeric settings, by name, e.g. { churn: 40 }. */
export type SamplerSettings = Readonly<Record<string, number>>;

/** A sampler and its settings: what `--sampler heun:churn=40` names. */
export interface SamplerChoice {
  name: string;
  settings: SamplerSettings;
}

const oneEvaluationPerStep = (steps: number) => steps;
/** Several evaluations per step, except the step into the data end, which takes one. */
const stagesPerStep = (stages: number) => (steps: number) => stages * (steps - 1) + 1;

const DDIM_SETTINGS = { eta: 'share of fresh noise: 0 deterministic (default), 1 DDPM-like' };
const HEUN_SETTINGS = {
  churn: "EDM's S_churn: total noise added over the steps (default 0: deterministic)",
  churnMin: 'churn only at noise levels sigma/alpha >= this (default 0)',
  churnMax: 'churn only at noise levels sigma/alpha <= this (default: no limit)',
  churnNoise: "EDM's S_noise: scale of the added noise (default 1)",
};

function define<S extends object>(name: string, summary: string, order: number, nfe: (steps: number) => number, sampler: Sampler<S>, fixed: S, settings: Record<string, string> = {}): SamplerDefinition {
  return {
    name, summary, order, nfe, settings,
    evaluatesAtGridPoints: nfe === oneEvaluationPerStep,
    sample: (denoiser, process, noise, grid, options = {}, chosen = {}) => sampler(denoiser, process, noise, grid, { ...fixed, ...chosen, ...options }),
  };
}

const definitions: SamplerDefinition[] = [
  define('ddim', 'DDIM (eta = 0): exponential integrator of order 0', 1, oneEvaluationPerStep, ddim, {}, DDIM_SETTINGS),
  define('euler', "Euler in the process's own time t", 1, oneEvaluationPerStep, euler, {}),
  define('heun', "EDM's Heun in the process's own time t, Euler into the data end", 2, stagesPerStep(2), heun, {}, HEUN_SETTINGS),
  ...[1, 2, 3].map((degree) => define(`deis-tab${degree}`, `DEIS tAB: noise polynomial of degree ${degree} in t`, degree + 1, oneEvaluationPerStep, deisTab, { degree })),
  ...[1, 2, 3].map((degree) => define(`deis-rhoab${degree}`, `DEIS rhoAB: noise polynomial of degree ${degree} in rho`, degree + 1, oneEvaluationPerStep, deisRhoab, { degree })),
  define('deis-rhork2', 'DEIS rhoRK: Heun in rho', 2, stagesPerStep(2), rhoRk, { tableau: tableaus.heun2 }),
  define('deis-rhork3', "DEIS rhoRK: Kutta's third order in rho", 3, stagesPerStep(3), rhoRk, { tableau: tableaus.kutta3 }),
  define('deis-rhork4', 'DEIS rhoRK: classical RK4 in rho', 4, stagesPerStep(4), rhoRk, { tableau: tableaus.rk4 }),
  define('ipndm', 'iPNDM: equal-step Adams–Bashforth of order 4 in rho', 4, oneEvaluationPerStep, ipndm, { order: 4 }),
  define('dpmpp-2m', 'DPM-Solver++(2M) in lambda', 2, oneEvaluationPerStep, dpmSolverPlusPlus, { order: 2 }),
  define('dpmpp-3m', 'DPM-Solver++(3M) in lambda', 3, oneEvaluationPerStep, dpmSolverPlusPlus, { order: 3 }),
  define('unipc-2', 'UniPC bh2, predictor order 2 plus corrector', 3, oneEvaluationPerStep, uniPc, { order: 2 }),
  define('unipc-3', 'UniPC bh2, predictor order 3 plus corrector', 4, oneEvaluationPerStep, uniPc, { order: 3 }),
  define('rf-euler', 'Euler in rectified-flow time', 1, oneEvaluationPerStep, rfEuler, {}),
  define('rf-heun', 'Heun in rectified-flow time, Euler into the data end', 2, stagesPerStep(2), rfHeun, {}),
  define('rf-new', "rectified flow++'s update: re-noise the x0 estimate with the initial noise", 0, oneEvaluationPerStep, rfNew, {}),
];

export const samplers: ReadonlyMap<string, SamplerDefinition> = new Map(definitions.map((d) => [d.name, d]));

export const samplerNames: readonly string[] = definitions.map((d) => d.name);

export function getSampler(name: string): SamplerDefinition {
  const definition = samplers.get(name);
  if (!definition) throw new InputError(`unknown sampler '${name}' (known: ${samplerNames.join(', ')})`);
  return definition;
}

/** Refuses settings the sampler does not take. */
export function checkSamplerSettings(definition: SamplerDefinition, settings: SamplerSettings): void {
  const known = Object.keys(definition.settings);
  for (const [key, value] of Object.entries(settings)) {
    if (!known.includes(key)) throw new InputError(`sampler '${definition.name}' has no setting '${key}' (${known.length > 0 ? `it takes ${known.join(', ')}` : 'it takes none'})`);
    if (!Number.isFinite(value)) throw new InputError(`sampler '${definition.name}': ${key} must be a number, got ${value}`);
  }
}

/** Parses 'NAME' or 'NAME:KEY=VALUE,...' (also 'NAME:KEY=VALUE:KEY=VALUE', like grids), e.g. 'heun:churn=40', 'ddim:eta=1'. */
export function parseSamplerSpec(text: string): SamplerChoice {
  const colon = text.indexOf(':');
  const name = (colon >= 0 ? text.slice(0, colon) : text).trim();
  const definition = getSampler(name);
  const settings: Record<string, number> = {};
  for (const pair of colon >= 0 ? text.slice(colon + 1).split(/[,:]/) : []) {
    const [key = '', raw, extra] = pair.split('=').map((part) => part.trim());
    const value = Number(raw);
    if (!key || raw === undefined || raw === '' || extra !== undefined || !Number.isFinite(value)) throw new InputError(`sampler '${text}': '${pair}' is not key=number (e.g. heun:churn=40)`);
    if (key in settings) throw new InputError(`sampler '${text}': '${key}' is given twice`);
    settings[key] = value;
  }
  checkSamplerSettings(definition, settings);
  return { name, settings };
}

/** The CLI form of a choice: 'heun', or 'heun:churn=40'. */
export function describeSampler(choice: SamplerChoice): string {
  const settings = Object.entries(choice.settings).map(([key, value]) => `${key}=${value}`);
  return settings.length > 0 ? `${choice.name}:${settings.join(',')}` : choice.name;
}

/** For --help: every sampler name, with the settings of those that take some. */
export const samplerSyntax = `${samplerNames.join(', ')}; settings as NAME:KEY=VALUE,... (${definitions.filter((d) => Object.keys(d.settings).length > 0).map((d) => `${d.name}: ${Object.keys(d.settings).join(', ')}`).join('; ')})`;

/** The number of steps whose cost is closest to `nfe` (ties go to the cheaper). */
export function stepsForNfe(definition: SamplerDefinition, nfe: number): number {
  if (!Number.isInteger(nfe) || nfe < 1) throw new Error(`NFE must be a positive integer, got ${nfe}`);
  let best = 1;
  for (let steps = 2; definition.nfe(steps) <= 2 * nfe; steps++) {
    if (Math.abs(definition.nfe(steps) - nfe) < Math.abs(definition.nfe(best) - nfe)) best = steps;
  }
  return best;
}

export type { SampleResult, Sampler, SamplerOptions, StepCallback, StepInfo } from './common.js';
