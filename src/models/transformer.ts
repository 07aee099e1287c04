// Attention and the transformer layer, over token sequences [B, T, C].

import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';
import { type WeightInit, namedModule } from './declarations.js';
import { layerNorm, linear } from './layers.js';
import type { ModuleContext } from './module-context.js';

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

/** A token order: [..., T, c] from the row-major order of the token grid into another one (`to`) and back (`from`). */
export interface TokenOrder {
  to: (x: Tensor) => Tensor;
  from: (x: Tensor) => Tensor;
}

/** The self-attention of a transformer layer: what replaces full attention, and the token order it takes the tokens in. */
export interface SelfAttention {
  attend: Attend;
  /** Applied around the projections, which act on each token alike, so the heads' layout stays full attention's. Absent: row-major. */
  order?: TokenOrder;
}

const FULL_ATTENTION: SelfAttention = { attend: F.attention };

/** The self-attention unit without its normalisation: the qkv projection, the heads' attention and the output projection. */
export function selfAttention(ctx: ModuleContext, x: Tensor, heads: number, outputInit: WeightInit, { attend, order }: SelfAttention = FULL_ATTENTION): Tensor {
  const width = x.shape.at(-1)!;
  const [q, k, v] = splitHeads(linear(ctx, 'qkv', order ? order.to(x) : x, 3 * width, 'xavier'), 3, heads);
  const y = linear(ctx, 'out', mergeHeads(attend(q!, k!, v!)), width, outputInit);
  return order ? order.from(y) : y;
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
  attention?: SelfAttention;
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
  unit('self', (normed, outputInit) => selfAttention(ctx, normed, settings.heads, outputInit, settings.attention));
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
