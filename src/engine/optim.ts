// The schedules of training: the learning rate as a function of the step, and the EMA of parameters.
// (AdamW and gradient clipping are graph ops of the compiled training step: adamw.ts, train-step.ts.)

import type { ParamTree } from './host-tensor.js';

// ---------------------------------------------------------------------------------------------------
// Learning-rate schedule

export interface LearningRateScheduleSettings {
  peak: number; // learning rate at the end of warm-up, and throughout for 'constant'
  warmupSteps: number; // linear ramp: step s < warmupSteps gets peak * (s + 1) / warmupSteps
  decay: 'constant' | 'cosine' | 'linear'; // shape after warm-up
  totalSteps: number; // the decay reaches `floor` at this step and stays there (unused by 'constant')
  floor: number; // final learning rate of a decaying schedule
}

export const LEARNING_RATE_DEFAULTS: Readonly<LearningRateScheduleSettings> = {
  peak: 1e-3, // Adam's customary rate; EDM trains CIFAR-10 at 1e-3, larger models lower
  warmupSteps: 0, // no warm-up
  decay: 'constant', // EDM and DiT keep the rate constant after warm-up
  totalSteps: 0, // required for 'cosine' and 'linear'
  floor: 0, // decay all the way to zero
};

/**
 * A learning-rate schedule as a pure function of the 0-based step (the update about to be applied):
 * linear warm-up to `peak`, then constant or a cosine / linear decay from `peak` at step `warmupSteps`
 * to `floor` at step `totalSteps`.
 */
export function learningRateSchedule(settings: Partial<LearningRateScheduleSettings> = {}): (step: number) => number {
  const { peak, warmupSteps, decay, totalSteps, floor } = { ...LEARNING_RATE_DEFAULTS, ...settings };
  if (!(peak >= 0) || !(floor >= 0)) throw new RangeError(`learningRateSchedule: peak and floor must be >= 0, got ${peak} and ${floor}`);
  if (!Number.isSafeInteger(warmupSteps) || warmupSteps < 0) throw new RangeError(`learningRateSchedule: warmupSteps must be a non-negative integer, got ${warmupSteps}`);
  if (decay !== 'constant' && !(Number.isSafeInteger(totalSteps) && totalSteps > warmupSteps)) {
    throw new RangeError(`learningRateSchedule: '${decay}' decay needs totalSteps > warmupSteps (${warmupSteps}), got ${totalSteps}`);
  }
  const decaySteps = totalSteps - warmupSteps;
  return (step: number) => {
    if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
    if (decay === 'constant') return peak;
    const progress = Math.min(1, (step - warmupSteps) / decaySteps);
    const remaining = decay === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
    return floor + (peak - floor) * remaining;
  };
}

// ---------------------------------------------------------------------------------------------------
// EMA of parameters

export interface EmaSettings {
  halfLifeImages: number | null; // EDM-style: the average halves a contribution's weight after this many training images; null: use `beta`
  rampUpRatio: number | null; // EDM ramp-up: half-life at most this fraction of images seen so far, so the random init fades fast; null: off
  beta: number; // fixed per-step decay, used when halfLifeImages is null
  betaWarmup: boolean; // with a fixed beta, use min(beta, (1 + step) / (10 + step)) so early steps are not dominated by the init
}

export const EMA_DEFAULTS: Readonly<EmaSettings> = {
  halfLifeImages: 500_000, // EDM's default (500 kimg)
  rampUpRatio: 0.05, // EDM's default
  beta: 0.9999, // DiT's value
  betaWarmup: false, // DiT starts the EMA as a copy of the model and does not warm up
};

export interface TrainingProgress {
  step: number; // updates applied before this one (0 for the first)
  imagesSeen: number; // training images consumed before this update
  batchSize: number; // images in this update
}

/**
 * The EMA decay beta for one update, where ema <- beta * ema + (1 - beta) * params.
 * Half-life mode (EDM): beta = 0.5 ^ (batchSize / halfLife), halfLife = min(halfLifeImages,
 * rampUpRatio * imagesSeen); the first update (imagesSeen = 0) thus copies the parameters.
 * Fixed mode: beta, or min(beta, (1 + step) / (10 + step)) with warm-up.
 */
export function emaBeta(progress: TrainingProgress, settings: Partial<EmaSettings> = {}): number {
  const { halfLifeImages, rampUpRatio, beta, betaWarmup } = { ...EMA_DEFAULTS, ...settings };
  if (halfLifeImages === null) return betaWarmup ? Math.min(beta, (1 + progress.step) / (10 + progress.step)) : beta;
  const halfLife = rampUpRatio === null ? halfLifeImages : Math.min(halfLifeImages, progress.imagesSeen * rampUpRatio);
  return halfLife > 0 ? 0.5 ** (progress.batchSize / halfLife) : 0;
}

/** ema <- beta * ema + (1 - beta) * params, in place, for every tensor of `ema`. */
export function updateEma(ema: ParamTree, params: ParamTree, beta: number): void {
  for (const [name, average] of ema) {
    const current = params.get(name);
    if (current === undefined || current.data.length !== average.data.length) {
      throw new Error(`updateEma: parameter '${name}' is ${current === undefined ? 'missing' : `of ${current.data.length} values, expected ${average.data.length}`}`);
    }
    const a = average.data;
    const p = current.data;
    for (let i = 0; i < a.length; i++) a[i] = p[i] + beta * (a[i] - p[i]);
  }
}
