// What the U-Net, the DiT, the MLP and the text encoder are built from: parameter and module
// declarations that a traced model can later describe (shapes, initialisers, module tree), the
// primitive layers, and the shared blocks (residual block, attention, transformer layer with
// addressable units). Also the common network interface and its config checks.

import type { Graph, Tensor } from '../engine/graph.js';
import { numel } from '../engine/host-tensor.js';
import * as F from '../engine/ops/index.js';
import { type InputSpec, type TraceFn, traceFunction } from '../engine/runtime.js';
import { ModuleContext, type ModulePlan, cacheName } from './module-context.js';
import { InputError } from '../engine/input-error.js';

// ---------------------------------------------------------------------------------------------
// Declarations: every parameter carries its initialiser and every addressable module its kind, so
// that tracing a model once tells init.ts how to initialise it and tells acceleration policies what
// they may cache.

export type ParamInit =
  | { kind: 'uniform'; bound: number }
  | { kind: 'normal'; std: number }
  | { kind: 'constant'; value: number };

/**
 * embedding: noise/label/caption embedding; stem and head: the first and last layers; stage: a
 * sequence of blocks (the U-Net's middle); block > layer > unit: A-SDM's feature-inheritance
 * granularities (a unit is the self-attention, cross-attention or MLP inside a transformer layer).
 */
export type ModuleKind = 'embedding' | 'stem' | 'stage' | 'block' | 'layer' | 'unit' | 'head';

/** Where a module sits in the network: Faster Diffusion's encoder / middle / decoder split for the U-Net. */
export type ModuleRole = 'conditioning' | 'input' | 'encoder' | 'middle' | 'decoder' | 'backbone' | 'output';

export interface ModuleInfo {
  path: string;
  kind: ModuleKind;
  role: ModuleRole;
}

interface Declarations {
  inits: Map<string, ParamInit>;
  modules: { path: string; kind: ModuleKind }[];
}

const declarationsByGraph = new WeakMap<Graph, Declarations>();

function declarationsOf(graph: Graph): Declarations {
  let found = declarationsByGraph.get(graph);
  if (!found) {
    found = { inits: new Map(), modules: [] };
    declarationsByGraph.set(graph, found);
  }
  return found;
}

export const ZEROS: ParamInit = { kind: 'constant', value: 0 };
export const ONES: ParamInit = { kind: 'constant', value: 1 };
export const normalInit = (std: number): ParamInit => ({ kind: 'normal', std });

/**
 * How a weight matrix starts: 'fanIn' keeps the output variance equal to the input's (LeCun
 * uniform, what EDM's kaiming_uniform amounts to); 'xavier' as DiT's transformer layers; 'zero' for
 * the last layer of a residual branch, so every branch starts as the identity (EDM/ADM, DiT).
 */
export type WeightInit = 'fanIn' | 'xavier' | 'zero';

export function weightInit(init: WeightInit, fanIn: number, fanOut: number): ParamInit {
  switch (init) {
    case 'fanIn': return { kind: 'uniform', bound: Math.sqrt(3 / fanIn) };
    case 'xavier': return { kind: 'uniform', bound: Math.sqrt(6 / (fanIn + fanOut)) };
    case 'zero': return ZEROS;
  }
}

/** A parameter of the current module with its initialiser. */
export function param(ctx: ModuleContext, name: string, shape: readonly number[], init: ParamInit): Tensor {
  const t = ctx.param(name, shape);
  declarationsOf(ctx.graph).inits.set(t.name!, init);
  return t;
}

/** An addressable sub-module (capturable and reusable through the ModuleContext plan). */
export function namedModule(ctx: ModuleContext, name: string, kind: ModuleKind, body: () => Tensor): Tensor {
  declarationsOf(ctx.graph).modules.push({ path: ctx.currentPath ? `${ctx.currentPath}.${name}` : name, kind });
  return ctx.module(name, body);
}

/** Parameter names of a primitive layer: on the current module itself when `name` is empty. */
const qualified = (name: string, leaf: string): string => (name ? `${name}.${leaf}` : leaf);

// ---------------------------------------------------------------------------------------------
// Primitive layers.

/** y = x Wᵀ + b over the last axis. */
export function linear(ctx: ModuleContext, name: string, x: Tensor, outFeatures: number, init: WeightInit = 'fanIn'): Tensor {
  const inFeatures = x.shape.at(-1)!;
  const weight = param(ctx, qualified(name, 'weight'), [outFeatures, inFeatures], weightInit(init, inFeatures, outFeatures));
  return F.linear(x, weight, param(ctx, qualified(name, 'bias'), [outFeatures], ZEROS));
}

export interface ConvSettings {
  stride?: number;
  /** Defaults to 'same' padding for odd kernels. */
  padding?: number;
  init?: WeightInit;
}

/** A convolution layer's signature: conv below, or a conditional convolution (cond-conv.ts) in its place. */
export type Convolve = (ctx: ModuleContext, name: string, x: Tensor, outChannels: number, kernel: number, settings?: ConvSettings) => Tensor;

export function conv(ctx: ModuleContext, name: string, x: Tensor, outChannels: number, kernel: number, settings: ConvSettings = {}): Tensor {
  const inChannels = x.shape[1]!;
  const fanIn = inChannels * kernel * kernel;
  const weight = param(ctx, qualified(name, 'weight'), [outChannels, inChannels, kernel, kernel], weightInit(settings.init ?? 'fanIn', fanIn, outChannels * kernel * kernel));
  const bias = param(ctx, qualified(name, 'bias'), [outChannels], ZEROS);
  return F.conv2d(x, weight, bias, { stride: settings.stride ?? 1, padding: settings.padding ?? (kernel - 1) / 2 });
}

export function groupNorm(ctx: ModuleContext, name: string, x: Tensor, groups: number): Tensor {
  const channels = x.shape[1]!;
  return F.groupNorm(x, groups, param(ctx, `${name}.weight`, [channels], ONES), param(ctx, `${name}.bias`, [channels], ZEROS));
}

export function layerNorm(ctx: ModuleContext, name: string, x: Tensor): Tensor {
  const width = x.shape.at(-1)!;
  return F.layerNorm(x, param(ctx, `${name}.weight`, [width], ONES), param(ctx, `${name}.bias`, [width], ZEROS));
}

/**
 * Brings cached features of batch b to the batch of the current call, a multiple of b, by repeating
 * them copy-major: rows [copy 0: b rows, copy 1: b rows, ...].
 */
export function matchBatch(what: string, features: Tensor, batch: number): Tensor {
  const cached = features.shape[0]!;
  if (batch % cached !== 0) throw new Error(`${what}: features of batch ${cached} cannot be tiled to batch ${batch}`);
  return batch === cached ? features : F.concat(new Array<Tensor>(batch / cached).fill(features), 0);
}

// ---------------------------------------------------------------------------------------------
// Residual block (EDM's ADM "UNetBlock"): GroupNorm -> SiLU -> [resample] -> conv -> adaptive
// scale/shift from the embedding -> GroupNorm -> SiLU -> conv, plus a shortcut that is a 1x1 conv
// whenever the channel count changes. A decoder block's input is concat([h, skip]), so its shortcut
// is the 1x1 conv on the concatenated input through which Skip-Tuning's scaling survives the norm.

export interface ResBlockSettings {
  outChannels: number;
  groups: number;
  /** Activated conditioning embedding [B, E]. */
  emb: Tensor;
  resample?: 'down' | 'up';
  /** false: the residual branch is removed and only the shortcut remains (a compressed student). */
  branch?: boolean;
  /** The branch's two 3x3 convolutions (default: plain conv; a conditional convolution for ME-CondConv). */
  convolve?: Convolve;
}

function resample(x: Tensor, how: 'down' | 'up' | undefined): Tensor {
  if (how === 'down') return F.avgPool2d(x, 2);
  if (how === 'up') return F.upsampleNearest2d(x, 2);
  return x;
}

export function resBlock(ctx: ModuleContext, x: Tensor, { outChannels, groups, emb, resample: how, branch = true, convolve = conv }: ResBlockSettings): Tensor {
  const shortcut = (): Tensor => {
    const input = resample(x, how);
    return x.shape[1] === outChannels ? input : conv(ctx, 'shortcut', input, outChannels, 1);
  };
  if (!branch) return shortcut();
  const batch = x.shape[0]!;
  let h = convolve(ctx, 'conv0', resample(F.silu(groupNorm(ctx, 'norm0', x, groups)), how), outChannels, 3);
  const [scale, shift] = F.chunk(F.reshape(linear(ctx, 'affine', emb, 2 * outChannels), [batch, 2 * outChannels, 1, 1]), 2, 1);
  h = F.silu(F.add(F.mul(groupNorm(ctx, 'norm1', h, groups), F.add(scale!, 1)), shift!));
  h = convolve(ctx, 'conv1', h, outChannels, 3, { init: 'zero' });
  return F.add(h, shortcut());
}

// ---------------------------------------------------------------------------------------------
// Attention and the transformer layer, over token sequences [B, T, C].

/** [B, T, parts*C] -> `parts` tensors [B, heads, T, C/heads]. */
function splitHeads(x: Tensor, parts: number, heads: number): Tensor[] {
  const [batch, tokens, width] = x.shape as number[];
  const headWidth = width! / parts / heads;
  const perHead = F.transpose(F.reshape(x, [batch!, tokens!, parts, heads, headWidth]), [2, 0, 3, 1, 4]);
  return F.split(perHead, new Array(parts).fill(1), 0).map((t) => F.squeeze(t, 0));
}

/** [B, heads, T, d] -> [B, T, heads*d]. */
function mergeHeads(x: Tensor): Tensor {
  const [batch, heads, tokens, headWidth] = x.shape as number[];
  return F.reshape(F.transpose(x, [0, 2, 1, 3]), [batch!, tokens!, heads! * headWidth!]);
}

/** softmax(q kᵀ / sqrt(d)) v over [B, heads, T, d]: full attention (F.attention) or one that replaces it (gri-attention.ts). */
export type Attend = (q: Tensor, k: Tensor, v: Tensor) => Tensor;

function selfAttention(ctx: ModuleContext, x: Tensor, heads: number, outputInit: WeightInit, attend: Attend): Tensor {
  const width = x.shape.at(-1)!;
  const [q, k, v] = splitHeads(linear(ctx, 'qkv', x, 3 * width, 'xavier'), 3, heads);
  return linear(ctx, 'out', mergeHeads(attend(q!, k!, v!)), width, outputInit);
}

function crossAttention(ctx: ModuleContext, x: Tensor, context: Tensor, heads: number, outputInit: WeightInit): Tensor {
  const width = x.shape.at(-1)!;
  const [q] = splitHeads(linear(ctx, 'q', x, width, 'xavier'), 1, heads);
  const [k, v] = splitHeads(linear(ctx, 'kv', context, 2 * width, 'xavier'), 2, heads);
  return linear(ctx, 'out', mergeHeads(F.attention(q!, k!, v!)), width, outputInit);
}

function feedForward(ctx: ModuleContext, x: Tensor, ratio: number, outputInit: WeightInit): Tensor {
  const width = x.shape.at(-1)!;
  return linear(ctx, 'fc2', F.gelu(linear(ctx, 'fc1', x, ratio * width, 'xavier')), width, outputInit);
}

export interface TransformerLayerSettings {
  heads: number;
  /** Hidden width of the MLP unit, as a multiple of the token width. */
  mlpRatio: number;
  /** Tokens [B, L, D] to cross-attend to; without them the layer has no cross-attention unit. */
  context?: Tensor;
  /** Activated conditioning embedding [B, E] for adaLN-Zero (DiT); without it each unit pre-normalises with an affine LayerNorm. */
  modulation?: Tensor;
  /** The self-attention over the tokens (default: full attention). */
  attend?: Attend;
}

/**
 * Pre-norm residual branch. With a modulation, adaLN-Zero: LayerNorm without affine, scale and
 * shift from the embedding, output times a gate; the gate starts at zero so the branch starts off,
 * and the branch's own output layer keeps a normal init (zeroing both would freeze them). Without
 * one, the branch's output layer starts at zero instead.
 */
function residualBranch(ctx: ModuleContext, x: Tensor, modulation: Tensor | undefined, branch: (normed: Tensor, outputInit: WeightInit) => Tensor): Tensor {
  if (!modulation) return branch(layerNorm(ctx, 'norm', x), 'zero');
  const width = x.shape.at(-1)!;
  const [shift, scale, gate] = F.chunk(F.unsqueeze(linear(ctx, 'modulation', modulation, 3 * width, 'zero'), 1), 3, -1);
  const normed = F.add(F.mul(F.layerNorm(x), F.add(scale!, 1)), shift!);
  return F.mul(gate!, branch(normed, 'xavier'));
}

/**
 * A transformer layer whose units are addressable modules: `self`, `cross` (with a context) and
 * `mlp`. A unit's module output is its residual branch, added outside the module, so reusing a
 * cached unit output keeps the residual stream of the current step (A-SDM's feature inheritance).
 */
export function transformerLayer(ctx: ModuleContext, x: Tensor, settings: TransformerLayerSettings): Tensor {
  let h = x;
  const unit = (name: string, branch: (normed: Tensor, outputInit: WeightInit) => Tensor): void => {
    const input = h;
    h = F.add(input, namedModule(ctx, name, 'unit', () => residualBranch(ctx, input, settings.modulation, branch)));
  };
  unit('self', (normed, outputInit) => selfAttention(ctx, normed, settings.heads, outputInit, settings.attend ?? F.attention));
  const context = settings.context;
  if (context) unit('cross', (normed, outputInit) => crossAttention(ctx, normed, context, settings.heads, outputInit));
  unit('mlp', (normed, outputInit) => feedForward(ctx, normed, settings.mlpRatio, outputInit));
  return h;
}

/** A transformer layer over the pixels of a feature map [B, C, H, W] as tokens. */
export function spatialTransformer(ctx: ModuleContext, x: Tensor, settings: TransformerLayerSettings): Tensor {
  const [batch, channels, height, width] = x.shape as number[];
  const tokens = F.transpose(F.reshape(x, [batch!, channels!, height! * width!]), [0, 2, 1]);
  const out = transformerLayer(ctx, tokens, settings);
  return F.reshape(F.transpose(out, [0, 2, 1]), [batch!, channels!, height!, width!]);
}

// ---------------------------------------------------------------------------------------------
// The network interface shared by the U-Net, the DiT and the MLP.

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

export interface ForwardOptions {
  /** U-Net only: Skip-Tuning factors, [numSkips] or [B, numSkips], multiplied into each skip before its concatenation. */
  skipScale?: Tensor;
  /** DiT only: how many leading blocks form the encoder of the encode/decode split. */
  encoderBlocks?: number;
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
 * A TraceFn running `net.forward` on graph inputs named x, noise, label, caption, condVector and
 * (optionally) skipScale. Outputs `out`, plus `cache:<path>` for each module the plan captures.
 */
export function netTraceFn(net: DiffusionNet, plan: ModulePlan = {}, options: Omit<ForwardOptions, 'skipScale'> = {}): TraceFn {
  return (graph, inputs) => {
    const reused = new Set([...(plan.reuse?.keys() ?? [])].map(cacheName));
    const ctx = new ModuleContext(graph, plan);
    const { x, noise, label, caption, condVector, skipScale, ...others } = inputs;
    const extra = Object.keys(others).filter((name) => !reused.has(name));
    if (extra.length > 0) throw new Error(`${net.config.arch}: unknown network input(s) ${extra.join(', ')}`);
    if (!x || !noise) throw new Error(`${net.config.arch}: the inputs x and noise are required`);
    const out = net.forward(ctx, { x, noise, label, caption, condVector }, { ...options, skipScale });
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


// ---------------------------------------------------------------------------------------------
// Config checking. Every message names the setting, so a bad JSON config is fixed at a glance.

export class ModelConfigError extends InputError {
  override name = 'ModelConfigError';
}

/** Fills defaults, rejects unknown settings and settings of the wrong type. */
export function resolveSettings<C extends NetConfig>(defaults: C, settings: Record<string, unknown>): C {
  const arch = defaults.arch;
  const known = Object.keys(defaults);
  const resolved = structuredClone(defaults) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(settings)) {
    if (!(key in defaults)) throw new ModelConfigError(`${arch}: unknown setting '${key}' (settings: ${known.join(', ')})`);
    const fallback = (defaults as Record<string, unknown>)[key];
    if (Array.isArray(fallback)) {
      // A list holds the type of its default's entries; an empty default is a list of names.
      const entry = fallback.length > 0 ? typeof fallback[0] : 'string';
      if (!Array.isArray(value) || value.some((v) => typeof v !== entry || (typeof v === 'number' && !Number.isFinite(v)))) {
        throw new ModelConfigError(`${arch}: setting '${key}' must be a list of ${entry === 'number' ? 'numbers' : 'strings'}, got ${JSON.stringify(value)}`);
      }
      resolved[key] = [...value];
    } else {
      if (typeof value !== typeof fallback || (typeof value === 'number' && !Number.isFinite(value))) {
        throw new ModelConfigError(`${arch}: setting '${key}' must be a ${typeof fallback}, got ${JSON.stringify(value)}`);
      }
      resolved[key] = value;
    }
  }
  return resolved as C;
}

export function requireInteger(arch: string, key: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new ModelConfigError(`${arch}: setting '${key}' must be an integer >= ${min}, got ${value}`);
}

export function requireOneOf<T extends string>(arch: string, key: string, value: string, allowed: readonly T[]): void {
  if (!allowed.includes(value as T)) throw new ModelConfigError(`${arch}: setting '${key}' must be one of ${allowed.join(', ')}, got '${value}'`);
}
