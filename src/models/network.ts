// The network interface shared by the U-Net, the DiT and the MLP.

import type { Tensor } from '../engine/graph.js';
import { numel } from '../engine/host-tensor.js';
import { type InputSpec, type TraceFn, traceFunction } from '../engine/runtime.js';
import { type ModuleInfo, type ModuleRole, type ParamInit, declarationsOf } from './declarations.js';
import { ModuleContext, type ModulePlan, cacheName } from './module-context.js';

/**
 * The raw network F(x, noise label, conditions). `noise` is [B] float32: whatever the objective
 * feeds (EDM's c_noise, t for VP or rectified flow). `label` is [B] int64 class ids, with
 * numClasses the null label of classifier-free guidance; `caption` is [B, captionTokens] int64
 * (see tokenizeCaptions); `condVector` is [B, condVectorDim], added to the embedding (GMem's slot).
 */
export interface NetInputs {
  x: Tensor;
  noise: Tensor;
  label?: Tensor;
  caption?: Tensor;
  condVector?: Tensor;
}

export type ConditioningInputs = Omit<NetInputs, 'x'>;

/** The conditioning of one call: the activated embedding [B, E] and, with captions, the text tokens [B, L, D]. */
export interface Conditioning {
  emb: Tensor;
  context?: Tensor;
}

/**
 * Options of one forward pass, each defined by the capability that takes it (capabilities.ts), e.g.
 * LongSkips' skipScale or MovableSplit's encoderBlocks. netTraceFn passes the graph inputs beyond
 * x and the conditioning through by name; a network refuses any option it does not take.
 */
export type ForwardOptions = Readonly<Record<string, Tensor | number | undefined>>;

/** Throws, naming the network and each option, unless every option given is one of `takes`. */
export function checkForwardOptions(arch: string, options: ForwardOptions, takes: readonly string[]): void {
  const refused = Object.keys(options).filter((name) => options[name] !== undefined && !takes.includes(name));
  if (refused.length > 0) throw new Error(`${arch}: no forward option ${refused.map((name) => `'${name}'`).join(', ')} (${arch} takes ${takes.length > 0 ? takes.join(', ') : 'none'})`);
}

/** What the decoder reads from the encoder: the long skips (U-Net) and the hidden state. */
export interface EncoderFeatures {
  skips: Tensor[];
  h: Tensor;
}

/** What every network config has: its architecture and the conditioning inputs it declares (see embeddings.ts). */
export interface NetConfig {
  arch: string;
  numClasses: number;
  captionTokens: number;
  condVectorDim: number;
}

export interface DiffusionNet<C extends NetConfig = NetConfig> {
  readonly config: C;
  /** Shape of one sample of x. */
  readonly dataShape: readonly number[];
  /** Graph inputs of forward at a batch size, by the names netTraceFn expects. */
  inputSpecs(batch: number): Record<string, InputSpec>;
  forward(ctx: ModuleContext, inputs: NetInputs, options?: ForwardOptions): Tensor;
  paramShapes(): Map<string, number[]>;
  /** Initialiser of every parameter, in declaration order. */
  paramInits(): Map<string, ParamInit>;
  paramCount(): number;
  /** Addressable modules in execution order (a parent before its children). */
  modules(): ModuleInfo[];
}

/** A network with Faster Diffusion's split: decode(encode(x)) == forward, and the decoder can run alone on cached features. */
export interface EncoderDecoderNet<C extends NetConfig = NetConfig> extends DiffusionNet<C> {
  embed(ctx: ModuleContext, inputs: ConditioningInputs): Conditioning;
  encode(ctx: ModuleContext, x: Tensor, conditioning: Conditioning, options?: ForwardOptions): EncoderFeatures;
  /**
   * Runs the decoder with this call's own conditioning. Features of batch b are tiled to the
   * conditioning's batch (a multiple of b) copy-major, so one call decodes several steps at once.
   */
  decode(ctx: ModuleContext, features: EncoderFeatures, conditioning: Conditioning, options?: ForwardOptions): Tensor;
  /** The module outputs the decoder reads, path -> shape at `batch`: capture them at a key step, reuse them in between. */
  encoderOutputs(batch: number, options?: ForwardOptions): Map<string, number[]>;
}

/**
 * A TraceFn running `net.forward` on graph inputs named x, noise, label, caption, condVector; any other
 * input (a capability's, e.g. skipScale) is a forward option of that name. Outputs `out`, plus
 * `cache:<path>` for each module the plan captures.
 */
export function netTraceFn(net: DiffusionNet, plan: ModulePlan = {}, options: ForwardOptions = {}): TraceFn {
  return (graph, inputs) => {
    const reused = new Set([...(plan.reuse?.keys() ?? [])].map(cacheName));
    const ctx = new ModuleContext(graph, plan);
    const { x, noise, label, caption, condVector, ...others } = inputs;
    const optionInputs = Object.fromEntries(Object.entries(others).filter(([name]) => !reused.has(name)));
    if (!x || !noise) throw new Error(`${net.config.arch}: the inputs x and noise are required`);
    const out = net.forward(ctx, { x, noise, label, caption, condVector }, { ...options, ...optionInputs });
    const unused = ctx.unusedReuse();
    if (unused.length > 0) throw new Error(`${net.config.arch}: the plan reuses module(s) the network does not have: ${unused.join(', ')}`);
    return { out, ...Object.fromEntries(ctx.captured) };
  };
}

interface Description {
  shapes: Map<string, number[]>;
  inits: Map<string, ParamInit>;
  modules: ModuleInfo[];
}

/** Parameter shapes, initialisers and modules come from tracing the network once at batch 1. */
export abstract class TracedNet<C extends NetConfig> implements DiffusionNet<C> {
  private description?: Description;

  constructor(readonly config: C) {}

  abstract readonly dataShape: readonly number[];
  abstract forward(ctx: ModuleContext, inputs: NetInputs, options?: ForwardOptions): Tensor;
  /** Role of each top-level module name (the first segment of a path). */
  protected abstract readonly roles: Readonly<Record<string, ModuleRole>>;

  inputSpecs(batch: number): Record<string, InputSpec> {
    const { numClasses, captionTokens, condVectorDim } = this.config;
    const specs: Record<string, InputSpec> = { x: { shape: [batch, ...this.dataShape], dtype: 'float32' }, noise: { shape: [batch], dtype: 'float32' } };
    if (numClasses > 0) specs.label = { shape: [batch], dtype: 'int64' };
    if (captionTokens > 0) specs.caption = { shape: [batch, captionTokens], dtype: 'int64' };
    if (condVectorDim > 0) specs.condVector = { shape: [batch, condVectorDim], dtype: 'float32' };
    return specs;
  }

  private describe(): Description {
    if (!this.description) {
      const { graph } = traceFunction(netTraceFn(this), this.inputSpecs(1));
      const declared = declarationsOf(graph);
      const shapes = new Map([...graph.params].map(([name, t]) => [name, [...t.shape]]));
      const inits = new Map([...shapes.keys()].map((name) => [name, declared.inits.get(name)!]));
      const modules = declared.modules.map(({ path, kind }) => ({ path, kind, role: this.roles[path.split('.')[0]!]! }));
      this.description = { shapes, inits, modules };
    }
    return this.description;
  }

  paramShapes(): Map<string, number[]> {
    return new Map([...this.describe().shapes].map(([name, shape]) => [name, [...shape]]));
  }

  paramInits(): Map<string, ParamInit> {
    return new Map(this.describe().inits);
  }

  paramCount(): number {
    let n = 0;
    for (const shape of this.describe().shapes.values()) n += numel(shape);
    return n;
  }

  modules(): ModuleInfo[] {
    return this.describe().modules.map((m) => ({ ...m }));
  }
}

/** forward = decode(encode(x, embed(conditions)), embed(conditions)): the split is exact by construction. */
export abstract class TracedEncoderDecoderNet<C extends NetConfig> extends TracedNet<C> implements EncoderDecoderNet<C> {
  abstract embed(ctx: ModuleContext, inputs: ConditioningInputs): Conditioning;
  abstract encode(ctx: ModuleContext, x: Tensor, conditioning: Conditioning, options?: ForwardOptions): EncoderFeatures;
  abstract decode(ctx: ModuleContext, features: EncoderFeatures, conditioning: Conditioning, options?: ForwardOptions): Tensor;
  abstract encoderOutputs(batch: number, options?: ForwardOptions): Map<string, number[]>;

  forward(ctx: ModuleContext, inputs: NetInputs, options: ForwardOptions = {}): Tensor {
    const { x, ...conditioningInputs } = inputs;
    const conditioning = this.embed(ctx, conditioningInputs);
    return this.decode(ctx, this.encode(ctx, x, conditioning, options), conditioning, options);
  }
}
