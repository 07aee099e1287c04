// One compiled training step: forward, backward and the AdamW update in a single ONNX graph.
// Parameters live in one flat buffer (the ParamTree's tensors become views of it), so the update is
// a handful of element-wise ops over all parameters at once instead of a few per tensor.

import type { HostTensor, ParamTree } from './host-tensor.js';
import { grad } from './autodiff.js';
import { type Graph, Tensor } from './graph.js';
import * as F from './ops/index.js';
import { AdamW, type AdamWSettings } from './adamw.js';
import { type CompiledFunction, compile } from './runtime.js';
import { TRAIN_STEP_INPUT_PREFIX } from './state-names.js';

export type LossFn = (graph: Graph, batch: Record<string, Tensor>) => Tensor | ({ loss: Tensor } & Record<string, Tensor>);

export interface TrainStepOptions {
  optimizer?: Partial<AdamWSettings>; // AdamW settings; defaults as in adamw.ts
  clipGradNorm?: number; // clip the global gradient norm to this value; 0 turns clipping off
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
  /** What the graph's parameters are fed from: the trained ones, then the frozen ones. */
  private readonly feedParams: ParamTree;

  constructor(params: ParamTree, loss: LossFn, readonly options: TrainStepOptions = {}) {
    for (const name of params.keys()) if (name.startsWith(TRAIN_STEP_INPUT_PREFIX)) throw new Error(`parameter names may not start with '${TRAIN_STEP_INPUT_PREFIX}': '${name}'`);
    const frozen = options.frozen ?? new Map();
    const both = [...frozen.keys()].find((name) => params.has(name));
    if (both) throw new Error(`parameter '${both}' is both trained and frozen`);
    this.params = params;
    this.feedParams = frozen.size > 0 ? new Map([...params, ...frozen]) : params;
    this.flat = flattenInPlace(params);
    this.optimizer = new AdamW(params, options.optimizer);
    this.settings = this.optimizer.settings;
    this.compiled = compile((g, inputs) => this.trace(g, inputs, loss), { params: 'inputs', threads: options.threads, name: 'train_step' });
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

  private trace(g: Graph, inputs: Record<string, Tensor>, lossFn: LossFn): Record<string, Tensor> {
    const batch = Object.fromEntries(Object.entries(inputs).filter(([name]) => !name.startsWith(TRAIN_STEP_INPUT_PREFIX)));
    const result = lossFn(g, batch);
    const { loss, ...metrics } = result instanceof Tensor ? { loss: result } : result;
    const names = [...this.params.keys()];
    const paramTensors = names.map((name) => g.param(name, this.params.get(name)!.shape));
    const grads = grad(loss, paramTensors);
    return g.scope('update', () => this.traceUpdate(g, inputs, grads, { loss, ...metrics }));
  }

  /** Gradient norm, clipping and the AdamW update over the flat parameter buffer. */
  private traceUpdate(g: Graph, inputs: Record<string, Tensor>, grads: Tensor[], outputs: Record<string, Tensor>): Record<string, Tensor> {
    let flatGrad = F.concat(grads.map((t) => F.reshape(t, [-1])), 0);
    const gradNorm = F.sqrt(F.sum(F.square(flatGrad)));
    const clip = this.options.clipGradNorm ?? 0;
    if (clip > 0) flatGrad = F.mul(flatGrad, F.minimum(F.div(clip, F.add(gradNorm, 1e-6)), 1));
    return { ...outputs, gradNorm, ...this.optimizer.trace(g, inputs, flatGrad) };
  }

  /** One update at `learningRate` on `batch`. A non-finite loss or gradient leaves the parameters untouched. */
  async step(batch: Record<string, HostTensor>, learningRate: number): Promise<StepResult> {
    const out = await this.compiled.run({ ...batch, ...this.optimizer.feeds(this.flat, learningRate) }, this.feedParams);
    const loss = out.loss!.data[0] as number;
    const gradNorm = out.gradNorm!.data[0] as number;
    const metrics: Record<string, number> = {};
    for (const [name, t] of Object.entries(out)) if (t.shape.length === 0 && name !== 'loss' && name !== 'gradNorm') metrics[name] = t.data[0] as number;
    if (Number.isFinite(loss) && Number.isFinite(gradNorm)) this.optimizer.apply(this.flat, { theta: out.theta!, m: out.m!, v: out.v! });
    return { loss, gradNorm, metrics };
  }

  async dispose(): Promise<void> {
    await this.compiled.dispose();
  }
}

