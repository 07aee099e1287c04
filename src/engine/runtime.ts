// Runs lowered graphs on ONNX Runtime. A compiled function traces once per input-shape signature
// and keeps the session for that signature.

import type * as ort from 'onnxruntime-common';
import { platformOrt } from '#ort';
import type { OrtBinding, SessionOptions } from './ort-binding.js';
import type { DType, HostTensor, ParamTree } from './host-tensor.js';
import { Graph, type Tensor, formatShape } from './graph.js';
import { ONNX_IR_VERSION, ONNX_OPSET, type OnnxModel, encodeModel } from './onnx/codec.js';
import { NCHWC_DOMAIN } from './ops/nchwc.js';
import { lowerToOnnx } from './onnx/lower.js';

export type { SessionOptions } from './ort-binding.js';

let binding: OrtBinding = platformOrt;

/** Runs every session created from now on with `chosen` (the platform's default binding until then). */
export function useOrt(chosen: OrtBinding): void {
  binding = chosen;
}

/** The binding sessions are created with now. */
export function currentOrt(): OrtBinding {
  return binding;
}

const nchwcBlockProbes = new WeakMap<OrtBinding, Promise<number>>();

/**
 * The channel block of ONNX Runtime's NCHWc CPU kernels on this machine (8 with AVX2, 16 with
 * AVX-512), read off a one-node model that reorders 4 channels into one block; 0 where the kernels
 * are missing or turned off.
 */
export function nchwcBlockSize(): Promise<number> {
  let probe = nchwcBlockProbes.get(binding);
  probe ??= (async () => {
    if (!binding.nchwc) return 0;
    try {
      const session = await OnnxSession.create({
        irVersion: ONNX_IR_VERSION,
        opsets: [{ domain: '', version: ONNX_OPSET }, { domain: NCHWC_DOMAIN, version: 1 }],
        producerName: 'hasten',
        producerVersion: '0.1.0',
        metadata: {},
        graph: {
          name: 'nchwc_probe',
          nodes: [{ opType: 'ReorderInput', domain: NCHWC_DOMAIN, inputs: ['x'], outputs: ['y'], attributes: {} }],
          inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4, 1, 1] }],
          outputs: [{ name: 'y', dtype: 'float32', shape: [1, 'blocked', 1, 1] }],
          initializers: new Map(),
        },
      }, { threads: 1, profile: false });
      const { y } = await session.run({ x: { dtype: 'float32', shape: [1, 4, 1, 1], data: new Float32Array(4) } });
      await session.dispose();
      return y!.shape[1]!;
    } catch {
      return 0;
    }
  })();
  nchwcBlockProbes.set(binding, probe);
  return probe;
}

const ORT_TYPES: Record<DType, ort.Tensor.Type> = { float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', bool: 'bool' };

export function toOrt(t: HostTensor, on: OrtBinding = binding): ort.Tensor {
  // A binding that transfers the buffers would detach the caller's arrays, which samplers and caches keep using.
  const data = on.transfersInputs ? t.data.slice() : t.data;
  return new on.Tensor(ORT_TYPES[t.dtype], data as ort.Tensor.DataType, t.shape);
}

export function fromOrt(t: ort.Tensor): HostTensor {
  const dtype = (Object.keys(ORT_TYPES) as DType[]).find((d) => ORT_TYPES[d] === t.type);
  if (!dtype) throw new Error(`unsupported output type '${t.type}'`);
  return { dtype, shape: [...t.dims], data: t.data as HostTensor['data'] };
}

export class OnnxSession {
  private constructor(private readonly session: ort.InferenceSession, private readonly binding: OrtBinding, private readonly profiling: boolean) {}

  /** From a model, its encoded bytes, or the path of a model file (whose external data files lie beside it; Node only). */
  static async create(model: OnnxModel | Uint8Array | string, options: SessionOptions = {}): Promise<OnnxSession> {
    const platformOptions = binding.sessionOptions(options);
    const source = model instanceof Uint8Array || typeof model === 'string' ? model : encodeModel(model);
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // The memory pattern pre-plans one block for every intermediate; measured, it cost a training
      // step 60% more peak memory for no speed (docs/results/engine.md).
      enableMemPattern: false,
      ...platformOptions,
    };
    // (Two calls: the path and the bytes are separate overloads.)
    const created = typeof source === 'string' ? binding.InferenceSession.create(source, sessionOptions) : binding.InferenceSession.create(source, sessionOptions);
    const session = await created.catch((error: unknown) => {
      throw binding.startError?.(error) ?? error;
    });
    return new OnnxSession(session, binding, platformOptions.enableProfiling === true);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Record<string, HostTensor>, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      const t = feeds[name];
      if (!t) throw new Error(`missing input '${name}' (expected ${this.session.inputNames.join(', ')})`);
      ortFeeds[name] = toOrt(t, this.binding);
    }
    const results = outputs ? await this.session.run(ortFeeds, [...outputs]) : await this.session.run(ortFeeds);
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(results)) out[name] = fromOrt(t);
    return out;
  }

  async dispose(): Promise<void> {
    if (this.profiling) this.session.endProfiling();
    await this.session.release();
  }
}

export interface InputSpec {
  shape: number[];
  dtype: DType;
}

/** Builds a model's graph from symbolic inputs; parameters are declared with graph.param(). */
export type TraceFn = (graph: Graph, inputs: Record<string, Tensor>) => Record<string, Tensor>;

export interface CompileOptions extends SessionOptions {
  /** 'inputs': parameters are passed to run() each call; a ParamTree: baked into the model. */
  params: 'inputs' | ParamTree;
  name?: string;
}

export interface Traced {
  graph: Graph;
  outputs: Record<string, Tensor>;
}

export function traceFunction(fn: TraceFn, specs: Record<string, InputSpec>): Traced {
  const graph = new Graph();
  const inputs: Record<string, Tensor> = {};
  for (const [name, spec] of Object.entries(specs)) inputs[name] = graph.input(name, spec.shape, spec.dtype);
  return { graph, outputs: fn(graph, inputs) };
}

function signatureOf(feeds: Record<string, HostTensor>): string {
  return Object.keys(feeds)
    .sort()
    .map((name) => `${name}:${feeds[name]!.dtype}${formatShape(feeds[name]!.shape)}`)
    .join(';');
}

/** A traced function compiled to ONNX Runtime, once per input-shape signature. */
export class CompiledFunction {
  private readonly sessions = new Map<string, Promise<{ session: OnnxSession; traced: Traced }>>();

  constructor(private readonly fn: TraceFn, private readonly options: CompileOptions) {}

  get compiledSignatures(): number {
    return this.sessions.size;
  }

  /** Traces and lowers without running: for export, FLOP counts and inspection (portable ONNX unless `nchwcBlock` is given). */
  lower(specs: Record<string, InputSpec>, nchwcBlock = 0): { model: OnnxModel; traced: Traced } {
    const traced = traceFunction(this.fn, specs);
    const model = lowerToOnnx(traced.graph, traced.outputs, { params: this.options.params, name: this.options.name, nchwcBlock });
    return { model, traced };
  }

  private sessionFor(feeds: Record<string, HostTensor>): Promise<{ session: OnnxSession; traced: Traced }> {
    const signature = signatureOf(feeds);
    let entry = this.sessions.get(signature);
    if (!entry) {
      const specs = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, { shape: [...t.shape], dtype: t.dtype }]));
      entry = (async () => {
        // With weights fed at run time ONNX Runtime cannot move convolutions onto its NCHWc kernels
        // itself (it does so for constant weights), so the lowering does.
        const nchwcBlock = this.options.params === 'inputs' ? await nchwcBlockSize() : 0;
        const { model, traced } = this.lower(specs, nchwcBlock);
        return { session: await OnnxSession.create(model, this.options), traced };
      })();
      entry.catch(() => this.sessions.delete(signature));
      this.sessions.set(signature, entry);
    }
    return entry;
  }

  /** Creates the session for inputs shaped as `inputs` without running it: what a first run would compile. */
  async prepare(inputs: Record<string, HostTensor>): Promise<void> {
    await this.sessionFor(inputs);
  }

  /** Runs on `inputs`; with params as inputs, `params` supplies their current values. */
  async run(inputs: Record<string, HostTensor>, params?: ParamTree): Promise<Record<string, HostTensor>> {
    const { session, traced } = await this.sessionFor(inputs);
    if (this.options.params !== 'inputs' || traced.graph.params.size === 0) return session.run(inputs);
    if (!params) throw new Error('this function takes its parameters at run time: pass them to run()');
    const feeds: Record<string, HostTensor> = { ...inputs };
    for (const name of traced.graph.params.keys()) {
      const value = params.get(name);
      if (!value) throw new Error(`missing parameter '${name}'`);
      feeds[name] = value;
    }
    return session.run(feeds);
  }

  async dispose(): Promise<void> {
    const entries = [...this.sessions.values()];
    this.sessions.clear();
    for (const entry of entries) await (await entry).session.dispose();
  }
}

export function compile(fn: TraceFn, options: CompileOptions): CompiledFunction {
  return new CompiledFunction(fn, options);
}
