// The sampling settings the Sample and Compare views share: their fields, and their values checked
// into generate()'s options, each bad value one clear message.

import { ACCEL_FLAG_HELP, type AccelConfig, parseAccelFlags } from '../src/accel/config.js';
import { CACHING_METHODS, type CachingMethod } from '../src/accel/caching.js';
import { parseGridSpec } from '../src/diffusion/grids.js';
import { getSampler, samplerNames } from '../src/diffusion/samplers/index.js';
import { DEFAULT_GRIDS, type GenerateOptions } from '../src/pipeline/generate.js';
import type { TrainedModel } from '../src/pipeline/model-store.js';
import type { FieldSpec } from './dom.js';

/** Defaults a new visitor gets: the shapes model's best plain sampler at 10 evaluations; ?samples=N in the address changes the batch the page compiles first. */
export const DEFAULT_SAMPLING = { sampler: 'dpmpp-2m', steps: '10', n: new URLSearchParams(location.search).get('samples') ?? '16', seed: '0', guidance: '1' };

export const METHOD_DEFAULTS: Record<CachingMethod, string> = {
  deepcache: 'every=3,branch=1',
  'encoder-propagation': 'every=3',
  'feature-inheritance': 'modules=mid/dec.2.*,every=2',
};

/** The fields of one configuration: sampler, steps, grid and the training-free methods. */
export function configFields(defaults: { sampler: string; steps: string }): FieldSpec[] {
  return [
    { name: 'sampler', label: 'sampler', value: defaults.sampler, options: samplerNames, hint: 'the ODE solver' },
    { name: 'steps', label: 'steps', value: defaults.steps, hint: 'sampler steps; evaluations depend on the sampler' },
    { name: 'grid', label: 'grid', value: '', hint: "time grid, e.g. karras, logsnr, karras:exponent=3:tmax=40; empty: the model's usual grid" },
    { name: 'method', label: 'acceleration', value: 'none', options: ['none', ...CACHING_METHODS], hint: 'training-free caching method' },
    { name: 'methodSpec', label: 'method settings', value: '', wide: true, hint: Object.entries(ACCEL_FLAG_HELP).map(([flag, help]) => `${flag}: ${help.description}`).join('\n') },
    { name: 'skipTuning', label: 'Skip-Tuning', value: '', hint: ACCEL_FLAG_HELP['skip-tuning'].description + ' (empty: off)' },
  ];
}

/** The fields both configurations share: model, samples, seed, class and guidance. */
export function sharedFields(models: readonly string[], defaultModel: string): FieldSpec[] {
  return [
    { name: 'model', label: 'model', value: defaultModel, options: models },
    { name: 'n', label: 'samples', value: DEFAULT_SAMPLING.n, hint: '1 to 64' },
    { name: 'seed', label: 'seed', value: DEFAULT_SAMPLING.seed, hint: 'sample k depends only on (seed, k)' },
    { name: 'class', label: 'class', value: 'all', options: ['all'] },
    { name: 'guidance', label: 'guidance', value: DEFAULT_SAMPLING.guidance, hint: 'classifier-free guidance weight; 1 is the plain conditional model (2 evaluations per step otherwise)' },
  ];
}

export class SettingError extends Error {
  override name = 'SettingError';
}

function wholeNumber(text: string, what: string, low: number, high: number): number {
  const value = Number(text);
  if (text === '' || !Number.isInteger(value) || value < low || value > high) throw new SettingError(`${what} must be a whole number from ${low} to ${high}, got '${text}'`);
  return value;
}

export interface Job {
  options: GenerateOptions;
  accel: AccelConfig;
  label: string; // for captions: sampler, steps and methods
}

/** Checks one configuration's values together with the shared ones, for `trained`. */
export function parseJob(shared: Record<string, string>, config: Record<string, string>, trained: TrainedModel): Job {
  const sampler = config.sampler!;
  getSampler(sampler);
  const steps = wholeNumber(config.steps!, 'steps', 1, 1000);
  const n = wholeNumber(shared.n!, 'samples', 1, 64);
  const seed = wholeNumber(shared.seed!, 'seed', 0, 2 ** 31 - 1);
  const guidance = Number(shared.guidance);
  if (shared.guidance === '' || !Number.isFinite(guidance) || guidance < 0) throw new SettingError(`guidance must be a number of at least 0, got '${shared.guidance}'`);
  const classNames = trained.config.classNames ?? [];
  let classes: number[] | undefined;
  if (shared.class && shared.class !== 'all') {
    const index = classNames.indexOf(shared.class);
    if (index < 0) throw new SettingError(`class '${shared.class}' is not one of ${trained.name}'s classes`);
    classes = [index];
  }
  if (guidance !== 1 && trained.model.config.numClasses === 0) throw new SettingError(`guidance needs a class-conditional model; ${trained.name} is not one`);
  const grid = config.grid || DEFAULT_GRIDS[trained.config.objective.name];
  parseGridSpec(grid);
  const flags: Record<string, string> = {};
  if (config.method && config.method !== 'none') flags[config.method] = config.methodSpec || METHOD_DEFAULTS[config.method as CachingMethod];
  if (config.skipTuning) flags['skip-tuning'] = config.skipTuning;
  const accel = parseAccelFlags(flags);
  const methods = Object.entries(flags).map(([flag, spec]) => `${flag} ${spec}`);
  return {
    options: { sampler, steps, grid, n, seed, guidance, classes },
    accel,
    label: [`${sampler} ${steps} steps`, ...(config.grid ? [config.grid] : []), ...methods, ...(guidance !== 1 ? [`guidance ${guidance}`] : [])].join(', '),
  };
}
