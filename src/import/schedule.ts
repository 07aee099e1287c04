// The noise schedule and prediction type of an imported model, read from a diffusers
// scheduler_config.json (DDPMScheduler, DDIMScheduler, ... all store the same training schedule):
// the betas (linear, scaled_linear, squaredcos_cap_v2, sigmoid or explicit trained_betas), the
// number of training timesteps and what the network predicts. The schedule becomes a discrete DDPM
// process whose knot k is diffusers' timestep k - 1, so the timestep fed at time t is N·t − 1.

import { ddpmFromBetas, type Process } from '../diffusion/process.js';
import type { Prediction } from '../diffusion/parameterisation.js';
import { ImportError } from './onnx-file.js';

export interface ImportedSchedule {
  betaSchedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2' | 'sigmoid' | 'explicit';
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  /** Only for 'explicit': the trained betas themselves. */
  trainedBetas?: number[];
  prediction: Extract<Prediction, 'eps' | 'v' | 'x0'>;
}

/** diffusers' names of the prediction types and ours. */
export const PREDICTION_TYPES: Record<string, ImportedSchedule['prediction']> = { epsilon: 'eps', v_prediction: 'v', v: 'v', sample: 'x0' };

/** Without a scheduler config: DDPM's own schedule (Ho et al.), predicting the noise. */
export const DEFAULT_SCHEDULE: ImportedSchedule = { betaSchedule: 'linear', numTrainTimesteps: 1000, betaStart: 1e-4, betaEnd: 0.02, prediction: 'eps' };

export function parsePrediction(text: string, where: string): ImportedSchedule['prediction'] {
  const prediction = PREDICTION_TYPES[text];
  if (!prediction) throw new ImportError(`${where}: unknown prediction type '${text}' (known: epsilon, v_prediction (or v), sample)`);
  return prediction;
}

export function parseSchedulerConfig(json: unknown, where: string): ImportedSchedule {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ImportError(`${where}: a scheduler config must be a JSON object`);
  const c = json as Record<string, unknown>;
  const number = (key: string, fallback: number): number => {
    const value = c[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new ImportError(`${where}: '${key}' must be a number, got ${JSON.stringify(value)}`);
    return value;
  };
  if (c.rescale_betas_zero_snr === true) throw new ImportError(`${where}: rescale_betas_zero_snr gives the last timestep zero signal, which a noise-level (sigma/alpha) parameterisation cannot represent`);
  const numTrainTimesteps = number('num_train_timesteps', 1000);
  if (!Number.isInteger(numTrainTimesteps) || numTrainTimesteps < 2) throw new ImportError(`${where}: num_train_timesteps must be an integer >= 2, got ${numTrainTimesteps}`);
  const prediction = parsePrediction(String(c.prediction_type ?? 'epsilon'), where);
  const schedule: ImportedSchedule = { betaSchedule: 'linear', numTrainTimesteps, betaStart: number('beta_start', 1e-4), betaEnd: number('beta_end', 0.02), prediction };
  if (Array.isArray(c.trained_betas)) {
    const betas = c.trained_betas as unknown[];
    if (betas.length !== numTrainTimesteps || !betas.every((b) => typeof b === 'number' && b > 0 && b < 1)) {
      throw new ImportError(`${where}: trained_betas must hold num_train_timesteps (${numTrainTimesteps}) numbers in (0, 1)`);
    }
    return { ...schedule, betaSchedule: 'explicit', trainedBetas: betas as number[] };
  }
  const kind = String(c.beta_schedule ?? 'linear');
  if (!['linear', 'scaled_linear', 'squaredcos_cap_v2', 'sigmoid'].includes(kind)) {
    throw new ImportError(`${where}: unknown beta_schedule '${kind}' (known: linear, scaled_linear, squaredcos_cap_v2, sigmoid, or trained_betas)`);
  }
  if (kind !== 'squaredcos_cap_v2' && !(schedule.betaStart > 0 && schedule.betaEnd >= schedule.betaStart && schedule.betaEnd < 1)) {
    throw new ImportError(`${where}: need 0 < beta_start <= beta_end < 1, got ${schedule.betaStart} and ${schedule.betaEnd}`);
  }
  return { ...schedule, betaSchedule: kind as ImportedSchedule['betaSchedule'] };
}

/** The N betas as diffusers computes them for each schedule. */
export function scheduleBetas(schedule: ImportedSchedule): Float64Array {
  const n = schedule.numTrainTimesteps;
  const { betaStart: a, betaEnd: b } = schedule;
  const linspace = (from: number, to: number, i: number) => from + ((to - from) * i) / (n - 1);
  switch (schedule.betaSchedule) {
    case 'explicit': return Float64Array.from(schedule.trainedBetas!);
    case 'linear': return Float64Array.from({ length: n }, (_, i) => linspace(a, b, i));
    case 'scaled_linear': return Float64Array.from({ length: n }, (_, i) => linspace(Math.sqrt(a), Math.sqrt(b), i) ** 2);
    case 'sigmoid': return Float64Array.from({ length: n }, (_, i) => (b - a) / (1 + Math.exp(-linspace(-6, 6, i))) + a);
    case 'squaredcos_cap_v2': {
      // Improved DDPM's cosine alphaBar, discretised with each beta capped at 0.999.
      const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      return Float64Array.from({ length: n }, (_, i) => Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999));
    }
  }
}

export function scheduleProcess(schedule: ImportedSchedule): Process {
  return ddpmFromBetas(scheduleBetas(schedule));
}

/** The network's timestep at process time t: N·t − 1, within the trained range [0, N − 1]. */
export function timestepAt(schedule: ImportedSchedule, t: number): number {
  return Math.min(schedule.numTrainTimesteps - 1, Math.max(0, schedule.numTrainTimesteps * t - 1));
}
