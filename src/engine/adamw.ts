// AdamW, written once: its settings, its state (moments and step count, saved and restored exactly)
// and its update as graph ops over one flat parameter buffer, which a compiled training step runs on
// ONNX Runtime's threads (src/engine/train-step.ts).

import { CheckpointError } from './checkpoint-error.js';
import { loadParamsInto } from './checkpoint-format.js';
import type { Graph, Tensor } from './graph.js';
import type { HostTensor, ParamTree } from './host-tensor.js';
import * as F from './ops/index.js';
import { ADAMW_PREFIX, TRAIN_STEP_INPUT_PREFIX } from './state-names.js';

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

/** The graph inputs the update reads, besides the flat gradient it is traced with. */
const INPUT = {
  theta: `${TRAIN_STEP_INPUT_PREFIX}theta`, // all parameters, flat, in the tree's order
  m: `${TRAIN_STEP_INPUT_PREFIX}m`,
  v: `${TRAIN_STEP_INPUT_PREFIX}v`,
  stepSize: `${TRAIN_STEP_INPUT_PREFIX}stepSize`, // learningRate / (1 - beta1^t): the bias correction of m folded in
  correction: `${TRAIN_STEP_INPUT_PREFIX}correction`, // sqrt(1 - beta2^t): the bias correction of v, under the root
  decay: `${TRAIN_STEP_INPUT_PREFIX}decay`, // learningRate * weightDecay
} as const;

interface AdamWSlot {
  name: string;
  shape: number[];
  offset: number; // where the parameter starts in the flat buffer
  size: number;
}

/**
 * AdamW (Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019) with PyTorch's
 * conventions: bias-corrected moments, epsilon added after the square root, and weight decay scaled
 * by the learning rate and applied to the parameter directly rather than through the gradient.
 * Its state round-trips exactly through stateTensors/loadStateTensors.
 */
export class AdamW {
  readonly settings: Readonly<AdamWSettings>;
  /** Both moments of all parameters, flat in parameter order. */
  readonly firstMoments: Float32Array;
  readonly secondMoments: Float32Array;
  /** 1 where weight decay applies, flat in parameter order. */
  private readonly decayMask: Float32Array;
  private readonly slots: AdamWSlot[];
  private steps = 0;

  /** `params` gives the names, sizes and order of the parameters this optimizer updates. */
  constructor(params: ParamTree, settings: Partial<AdamWSettings> = {}) {
    this.settings = { ...ADAMW_DEFAULTS, ...settings };
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new RangeError(`AdamW: betas must be in [0, 1), got ${beta1} and ${beta2}`);
    if (!(epsilon > 0) || !(weightDecay >= 0)) throw new RangeError(`AdamW: epsilon must be > 0 and weightDecay >= 0, got ${epsilon} and ${weightDecay}`);
    let offset = 0;
    this.slots = [...params].map(([name, param]) => {
      const slot = { name, shape: [...param.shape], offset, size: param.data.length };
      offset += param.data.length;
      return slot;
    });
    this.firstMoments = new Float32Array(offset);
    this.secondMoments = new Float32Array(offset);
    this.decayMask = new Float32Array(offset);
    for (const slot of this.slots) if (this.settings.decays(slot.name, params.get(slot.name)!)) this.decayMask.fill(1, slot.offset, slot.offset + slot.size);
  }

  /** Updates taken so far; the bias correction of the next update uses stepCount + 1. */
  get stepCount(): number {
    return this.steps;
  }

  /** The update as graph ops: from the flat gradient and the inputs of `feeds`, the new parameters and moments. */
  trace(g: Graph, inputs: Record<string, Tensor>, flatGrad: Tensor): { theta: Tensor; m: Tensor; v: Tensor } {
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    const input = (name: string): Tensor => {
      const tensor = inputs[name];
      if (tensor === undefined) throw new Error(`AdamW.trace: no graph input '${name}'`);
      return tensor;
    };
    const m = F.add(F.mul(input(INPUT.m), beta1), F.mul(flatGrad, 1 - beta1));
    const v = F.add(F.mul(input(INPUT.v), beta2), F.mul(F.square(flatGrad), 1 - beta2));
    const step = F.div(F.mul(m, input(INPUT.stepSize)), F.add(F.div(F.sqrt(v), input(INPUT.correction)), epsilon));
    const theta = input(INPUT.theta);
    const mask = (): Tensor => g.constant({ dtype: 'float32', shape: [this.decayMask.length], data: this.decayMask });
    const decayed = weightDecay > 0 ? F.mul(theta, F.sub(1, F.mul(mask(), input(INPUT.decay)))) : theta;
    return { theta: F.sub(decayed, step), m, v };
  }

  /** The graph inputs of the next update of the flat parameters `theta` at `learningRate`. */
  feeds(theta: Float32Array, learningRate: number): Record<string, HostTensor> {
    const { beta1, beta2, weightDecay } = this.settings;
    const t = this.steps + 1;
    const flat = (data: Float32Array): HostTensor => ({ dtype: 'float32', shape: [data.length], data });
    const scalar = (x: number): HostTensor => ({ dtype: 'float32', shape: [], data: Float32Array.of(x) });
    return {
      [INPUT.theta]: flat(theta),
      [INPUT.m]: flat(this.firstMoments),
      [INPUT.v]: flat(this.secondMoments),
      [INPUT.stepSize]: scalar(learningRate / (1 - beta1 ** t)),
      [INPUT.correction]: scalar(Math.sqrt(1 - beta2 ** t)),
      [INPUT.decay]: scalar(learningRate * weightDecay),
    };
  }

  /** Takes the traced update's outputs as the new state; `theta` (the flat parameters) is overwritten. */
  apply(theta: Float32Array, out: { theta: HostTensor; m: HostTensor; v: HostTensor }): void {
    theta.set(out.theta.data as Float32Array);
    this.firstMoments.set(out.m.data as Float32Array);
    this.secondMoments.set(out.v.data as Float32Array);
    this.steps++;
  }

  /**
   * The optimizer state as named tensors ("adamw.m.<param>", "adamw.v.<param>", "adamw.step"), for a
   * checkpoint's `extra`. They are views of the live state: serialise them before the next step.
   */
  stateTensors(): Map<string, HostTensor> {
    const tensors = new Map<string, HostTensor>();
    for (const { name, shape, offset, size } of this.slots) {
      tensors.set(FIRST_MOMENT_PREFIX + name, { dtype: 'float32', shape, data: this.firstMoments.subarray(offset, offset + size) });
      tensors.set(SECOND_MOMENT_PREFIX + name, { dtype: 'float32', shape, data: this.secondMoments.subarray(offset, offset + size) });
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
    for (const { name, offset } of this.slots) {
      this.firstMoments.set(loaded.get(FIRST_MOMENT_PREFIX + name)!.data as Float32Array, offset);
      this.secondMoments.set(loaded.get(SECOND_MOMENT_PREFIX + name)!.data as Float32Array, offset);
    }
    this.steps = Number((step.data as BigInt64Array)[0]);
  }
}
