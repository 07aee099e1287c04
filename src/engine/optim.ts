// Host-side training math: AdamW, global-norm gradient clipping, learning-rate schedules and EMA of
// parameters. The update loops run over Float32Arrays in place and allocate nothing per step.

import { CheckpointError } from './checkpoint-error.js';
import { loadParamsInto } from './checkpoint-format.js';
import type { HostTensor, ParamTree } from './host-tensor.js';
import { ADAMW_PREFIX } from './state-names.js';

// ---------------------------------------------------------------------------------------------------
// AdamW

export interface AdamWSettings {
  beta1: number; // decay of the running mean of gradients (first moment)
  beta2: number; // decay of the running mean of squared gradients (second moment)
  epsilon: number; // added to the root of the second moment so tiny gradients do not explode the step
  weightDecay: number; // decoupled decay: decayed parameters are scaled by (1 - learningRate * weightDecay) each step
  decays: (name: string, param: HostTensor<'float32'>) => boolean; // which parameters weight decay applies to
}

/** Decay weight matrices and conv kernels, not biases or normalisation gains (rank < 2), as is customary. */
export function decayMatricesOnly(_name: string, param: HostTensor<'float32'>): boolean {
  return param.shape.length >= 2;
}

export const ADAMW_DEFAULTS: Readonly<AdamWSettings> = {
  beta1: 0.9, // standard Adam value
  beta2: 0.999, // standard Adam value; large-batch diffusion transformers often use 0.95 or 0.99
  epsilon: 1e-8, // standard Adam value
  weightDecay: 0, // diffusion models (EDM, DiT) usually train without weight decay
  decays: decayMatricesOnly, // biases and norm gains are never decayed
};

/** Names of the optimizer's tensors when saved (see AdamW.stateTensors), e.g. "adamw.m.enc.0.weight". */
const FIRST_MOMENT_PREFIX = `${ADAMW_PREFIX}m.`;
const SECOND_MOMENT_PREFIX = `${ADAMW_PREFIX}v.`;
const STEP_NAME = `${ADAMW_PREFIX}step`;

interface AdamWSlot {
  name: string;
  shape: number[];
  firstMoment: Float32Array;
  secondMoment: Float32Array;
  decays: boolean;
}

/**
 * AdamW (Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019) with PyTorch's
 * conventions: bias-corrected moments, epsilon added after the square root, and weight decay scaled
 * by the learning rate and applied to the parameter directly rather than through the gradient.
 * Its state (moments and step count) round-trips exactly through stateTensors/loadStateTensors.
 */
export class AdamW {
  readonly settings: Readonly<AdamWSettings>;
  private readonly slots: AdamWSlot[];
  private steps = 0;

  /** `params` gives the names and sizes of the parameters this optimizer updates. */
  constructor(params: ParamTree, settings: Partial<AdamWSettings> = {}) {
    this.settings = { ...ADAMW_DEFAULTS, ...settings };
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new RangeError(`AdamW: betas must be in [0, 1), got ${beta1} and ${beta2}`);
    if (!(epsilon > 0) || !(weightDecay >= 0)) throw new RangeError(`AdamW: epsilon must be > 0 and weightDecay >= 0, got ${epsilon} and ${weightDecay}`);
    // The moments of all parameters live in two flat arrays so that a compiled training step can
    // update them in one pass (src/engine/train-step.ts); each slot is a view.
    let total = 0;
    for (const param of params.values()) total += param.data.length;
    this.firstMoments = new Float32Array(total);
    this.secondMoments = new Float32Array(total);
    let offset = 0;
    this.slots = [...params].map(([name, param]) => {
      const end = offset + param.data.length;
      const slot = {
        name,
        shape: [...param.shape],
        firstMoment: this.firstMoments.subarray(offset, end),
        secondMoment: this.secondMoments.subarray(offset, end),
        decays: this.settings.decays(name, param),
      };
      offset = end;
      return slot;
    });
  }

  /** Both moments of all parameters, flat in parameter order, for an update computed elsewhere. */
  readonly firstMoments: Float32Array;
  readonly secondMoments: Float32Array;

  /** Records an update that was applied outside step() (by a compiled graph) to the flat moments. */
  recordExternalStep(): void {
    this.steps++;
  }

  /** Updates taken so far; the bias correction of the next update uses stepCount + 1. */
  get stepCount(): number {
    return this.steps;
  }

  /** One update of `params` in place from `grads` (same names and sizes) at `learningRate`. */
  step(params: ParamTree, grads: ParamTree, learningRate: number): void {
    // Check everything first so that a bad call leaves the parameters untouched.
    for (const slot of this.slots) {
      const param = params.get(slot.name);
      const grad = grads.get(slot.name);
      if (param === undefined || grad === undefined) throw new Error(`AdamW.step: no ${param === undefined ? 'parameter' : 'gradient'} '${slot.name}'`);
      if (param.data.length !== slot.firstMoment.length || grad.data.length !== slot.firstMoment.length) {
        throw new Error(`AdamW.step: '${slot.name}' has ${param.data.length} values and ${grad.data.length} gradients, expected ${slot.firstMoment.length}`);
      }
    }
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    const t = this.steps + 1;
    const stepSize = learningRate / (1 - beta1 ** t);
    const rootSecondMomentScale = 1 / Math.sqrt(1 - beta2 ** t); // bias correction of v, under the square root
    const gradientWeight = 1 - beta1;
    const squareWeight = 1 - beta2;
    for (const slot of this.slots) {
      const p = params.get(slot.name)!.data;
      const g = grads.get(slot.name)!.data;
      const m = slot.firstMoment;
      const v = slot.secondMoment;
      const keep = slot.decays ? 1 - learningRate * weightDecay : 1;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        const mi = beta1 * m[i] + gradientWeight * gi;
        const vi = beta2 * v[i] + squareWeight * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * keep - (stepSize * mi) / (Math.sqrt(vi) * rootSecondMomentScale + epsilon);
      }
    }
    this.steps = t;
  }

  /**
   * The optimizer state as named tensors ("adamw.m.<param>", "adamw.v.<param>", "adamw.step"), for a
   * checkpoint's `extra`. They are views of the live state: serialise them before the next step.
   */
  stateTensors(): Map<string, HostTensor> {
    const tensors = new Map<string, HostTensor>();
    for (const slot of this.slots) {
      tensors.set(FIRST_MOMENT_PREFIX + slot.name, { dtype: 'float32', shape: slot.shape, data: slot.firstMoment });
      tensors.set(SECOND_MOMENT_PREFIX + slot.name, { dtype: 'float32', shape: slot.shape, data: slot.secondMoment });
    }
    tensors.set(STEP_NAME, { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(this.steps)) });
    return tensors;
  }

  /**
   * Restores state saved by stateTensors. `tensors` may hold other entries (an EMA copy...); those named
   * "adamw.*" must match this optimizer's parameters exactly. `source` names the file in errors.
   */
  loadStateTensors(tensors: ReadonlyMap<string, HostTensor>, source: string): void {
    const step = tensors.get(STEP_NAME);
    if (step === undefined || step.dtype !== 'int64' || step.data.length !== 1) {
      throw new CheckpointError(source, `optimizer state has no int64 scalar '${STEP_NAME}'`);
    }
    const moments = new Map<string, HostTensor>();
    for (const [name, tensor] of tensors) if (name.startsWith(ADAMW_PREFIX) && name !== STEP_NAME) moments.set(name, tensor);
    const expected = new Map<string, { shape: number[] }>();
    for (const slot of this.slots) {
      expected.set(FIRST_MOMENT_PREFIX + slot.name, slot);
      expected.set(SECOND_MOMENT_PREFIX + slot.name, slot);
    }
    const loaded = loadParamsInto(expected, moments, source);
    for (const slot of this.slots) {
      slot.firstMoment.set(loaded.get(FIRST_MOMENT_PREFIX + slot.name)!.data);
      slot.secondMoment.set(loaded.get(SECOND_MOMENT_PREFIX + slot.name)!.data);
    }
    this.steps = Number((step.data as BigInt64Array)[0]);
  }
}

// ---------------------------------------------------------------------------------------------------
// Gradient clipping

/** The L2 norm of all values of all tensors together, accumulated in float64. */
export function globalNorm(tensors: ParamTree): number {
  let sumOfSquares = 0;
  for (const tensor of tensors.values()) {
    const data = tensor.data;
    for (let i = 0; i < data.length; i++) sumOfSquares += data[i] * data[i];
  }
  return Math.sqrt(sumOfSquares);
}

/**
 * Scales all gradients in place so that their global norm is at most `maxNorm`, and returns the norm
 * before clipping (worth logging). A non-finite norm leaves the gradients as they are: the caller should
 * skip the step rather than apply NaN.
 */
export function clipGradientsByGlobalNorm(grads: ParamTree, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradientsByGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = globalNorm(grads);
  if (norm > maxNorm && Number.isFinite(norm)) {
    const scale = maxNorm / norm;
    for (const grad of grads.values()) {
      const data = grad.data;
      for (let i = 0; i < data.length; i++) data[i] *= scale;
    }
  }
  return norm;
}

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
