// One compiled training step: forward, backward and the AdamW update in a single ONNX graph.
// Parameters live in one flat buffer (the ParamTree's tensors become views of it), so the update is
// a handful of element-wise ops over all parameters at once instead of a few per tensor.

import type { HostTensor, ParamTree } from './host-tensor.js';
import { grad } from './autodiff.js';
import { type Graph, Tensor } from './graph.js';
import * as F from './ops/index.js';
import { ADAMW_DEFAULTS, AdamW, type AdamWSettings } from './optim.js';
import { type CompiledFunction, compile } from './runtime.js';
import { TRAIN_STEP_INPUT_PREFIX } from './state-names.js';

export type LossFn = (graph: Graph, batch: Record<string, Tensor>) => Tensor | ({ loss: Tensor } & Record<string, Tensor>);

export interface TrainStepOptions {
  optimizer?: Partial<AdamWSettings>; // AdamW settings; defaults as in optim.ts
  clipGradNorm?: number; // clip the global gradient norm to this value; 0 turns clipping off
  update?: 'graph' | 'host'; // where the AdamW update runs: 'graph' measured faster (docs/results/engine.md)
  threads?: number; // ONNX Runtime intra-op threads; defaults to all cores
  frozen?: ParamTree; // parameters the loss reads but never trains (a teacher's, a feature network's): fed every step, no gradient
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  metrics: Record<string, number>;
}


/** Moves every tensor of `params` into one Float32Array; the tree's tensors become views of it. */
function flattenInPlace(params: ParamTree): Float32Array {
  let total = 0;
  for (const t of params.values()) total += t.data.length;
  const flat = new Float32Array(total);
  let offset = 0;
  for (const t of params.values()) {
    flat.set(t.data, offset);
    t.data = flat.subarray(offset, offset + t.data.length);
    offset += t.data.length;
  }
  return flat;
}

export class TrainStep {
  readonly params: ParamTree;
  readonly settings: Readonly<AdamWSettings>;
  private readonly flat: Float32Array;
  private readonly compiled: CompiledFunction;
  readonly optimizer: AdamW;
  private readonly updateOnHost: boolean;
  /** What the graph's parameters are fed from: the trained ones, then the frozen ones. */
  private readonly feedParams: ParamTree;

  constructor(params: ParamTree, loss: LossFn, readonly options: TrainStepOptions = {}) {
    for (const name of params.keys()) if (name.startsWith(TRAIN_STEP_INPUT_PREFIX)) throw new Error(`parameter names may not start with '${TRAIN_STEP_INPUT_PREFIX}': '${name}'`);
    const frozen = options.frozen ?? new Map();
    const both = [...frozen.keys()].find((name) => params.has(name));
    if (both) throw new Error(`parameter '${both}' is both trained and frozen`);
    this.params = params;
    this.feedParams = frozen.size > 0 ? new Map([...params, ...frozen]) : params;
    this.settings = { ...ADAMW_DEFAULTS, ...options.optimizer };
    this.flat = flattenInPlace(params);
    this.optimizer = new AdamW(params, this.settings);
    this.updateOnHost = options.update === 'host';
    const decayMask = new Float32Array(this.flat.length);
    let offset = 0;
    for (const [name, t] of params) {
      if (this.settings.decays(name, t)) decayMask.fill(1, offset, offset + t.data.length);
      offset += t.data.length;
    }
    this.compiled = compile((g, inputs) => this.trace(g, inputs, loss, decayMask), { params: 'inputs', threads: options.threads, name: 'train_step' });
  }

  get stepCount(): number {
    return this.optimizer.stepCount;
  }

  /** Optimizer state for a checkpoint (views: save before the next step). */
  stateTensors(): Map<string, HostTensor> {
    return this.optimizer.stateTensors();
  }

  loadStateTensors(tensors: ReadonlyMap<string, HostTensor>, source: string): void {
    this.optimizer.loadStateTensors(tensors, source);
  }

  private trace(g: Graph, inputs: Record<string, Tensor>, lossFn: LossFn, decayMask: Float32Array): Record<string, Tensor> {
    const batch = Object.fromEntries(Object.entries(inputs).filter(([name]) => !name.startsWith(TRAIN_STEP_INPUT_PREFIX)));
    const result = lossFn(g, batch);
    const { loss, ...metrics } = result instanceof Tensor ? { loss: result } : result;
    const names = [...this.params.keys()];
    const paramTensors = names.map((name) => g.param(name, this.params.get(name)!.shape));
    const grads = grad(loss, paramTensors);
    return g.scope('update', () => this.traceUpdate(g, inputs, grads, { loss, ...metrics }, decayMask));
  }

  /** Gradient norm, clipping and the AdamW update over the flat parameter buffer. */
  private traceUpdate(g: Graph, inputs: Record<string, Tensor>, grads: Tensor[], outputs: Record<string, Tensor>, decayMask: Float32Array): Record<string, Tensor> {
    let flatGrad = F.concat(grads.map((t) => F.reshape(t, [-1])), 0);
    const gradNorm = F.sqrt(F.sum(F.square(flatGrad)));
    const clip = this.options.clipGradNorm ?? 0;
    if (clip > 0) flatGrad = F.mul(flatGrad, F.minimum(F.div(clip, F.add(gradNorm, 1e-6)), 1));
    if (this.updateOnHost) return { ...outputs, gradNorm, grad: flatGrad };

    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    const { [`${TRAIN_STEP_INPUT_PREFIX}theta`]: theta, [`${TRAIN_STEP_INPUT_PREFIX}m`]: m, [`${TRAIN_STEP_INPUT_PREFIX}v`]: v, [`${TRAIN_STEP_INPUT_PREFIX}stepSize`]: stepSize, [`${TRAIN_STEP_INPUT_PREFIX}correction`]: correction, [`${TRAIN_STEP_INPUT_PREFIX}decay`]: decay } = inputs;
    const m2 = F.add(F.mul(m!, beta1), F.mul(flatGrad, 1 - beta1));
    const v2 = F.add(F.mul(v!, beta2), F.mul(F.square(flatGrad), 1 - beta2));
    const step = F.div(F.mul(m2, stepSize!), F.add(F.div(F.sqrt(v2), correction!), epsilon));
    const decayed = weightDecay > 0 ? F.mul(theta!, F.sub(1, F.mul(g.constant({ dtype: 'float32', shape: [decayMask.length], data: decayMask }), decay!))) : theta!;
    return { ...outputs, gradNorm, theta: F.sub(decayed, step), m: m2, v: v2 };
  }

  /** One update at `learningRate` on `batch`. A non-finite loss or gradient leaves the parameters untouched. */
  async step(batch: Record<string, HostTensor>, learningRate: number): Promise<StepResult> {
    const feeds: Record<string, HostTensor> = { ...batch };
    const { beta1, beta2, weightDecay } = this.settings;
    if (!this.updateOnHost) {
      const t = this.optimizer.stepCount + 1;
      const scalar = (x: number): HostTensor => ({ dtype: 'float32', shape: [], data: Float32Array.of(x) });
      Object.assign(feeds, {
        [`${TRAIN_STEP_INPUT_PREFIX}theta`]: { dtype: 'float32', shape: [this.flat.length], data: this.flat },
        [`${TRAIN_STEP_INPUT_PREFIX}m`]: { dtype: 'float32', shape: [this.flat.length], data: this.optimizer.firstMoments },
        [`${TRAIN_STEP_INPUT_PREFIX}v`]: { dtype: 'float32', shape: [this.flat.length], data: this.optimizer.secondMoments },
        [`${TRAIN_STEP_INPUT_PREFIX}stepSize`]: scalar(learningRate / (1 - beta1 ** t)),
        [`${TRAIN_STEP_INPUT_PREFIX}correction`]: scalar(Math.sqrt(1 - beta2 ** t)),
        [`${TRAIN_STEP_INPUT_PREFIX}decay`]: scalar(learningRate * weightDecay),
      });
    }
    const out = await this.compiled.run(feeds, this.feedParams);
    const loss = out.loss!.data[0] as number;
    const gradNorm = out.gradNorm!.data[0] as number;
    const metrics: Record<string, number> = {};
    for (const [name, t] of Object.entries(out)) if (t.shape.length === 0 && name !== 'loss' && name !== 'gradNorm') metrics[name] = t.data[0] as number;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { loss, gradNorm, metrics };
    if (this.updateOnHost) {
      const flatGrad = out.grad!.data as Float32Array;
      const grads: ParamTree = new Map();
      let offset = 0;
      for (const [name, t] of this.params) {
        grads.set(name, { dtype: 'float32', shape: t.shape, data: flatGrad.subarray(offset, offset + t.data.length) });
        offset += t.data.length;
      }
      this.optimizer.step(this.params, grads, learningRate);
    } else {
      this.flat.set(out.theta!.data as Float32Array);
      this.optimizer.firstMoments.set(out.m!.data as Float32Array);
      this.optimizer.secondMoments.set(out.v!.data as Float32Array);
      this.optimizer.recordExternalStep();
    }
    return { loss, gradNorm, metrics };
  }

  async dispose(): Promise<void> {
    await this.compiled.dispose();
  }
}

