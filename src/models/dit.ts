// A DiT: patchify (a conv whose stride is the patch), a fixed 2-D sin-cos or learned position
// embedding, transformer blocks with adaLN-Zero modulation from the conditioning embedding, and a
// final adaLN layer that unpatchifies.
//
// Module paths, in execution order: text and emb (conditioning), patch (stem), blocks.<i> (each a
// transformer layer with units blocks.<i>.self, blocks.<i>.cross with captions, blocks.<i>.mlp),
// final (head). For Faster Diffusion's split the first `encoderBlocks` blocks act as the encoder
// (default: the paper's 18 of 28, rescaled to the depth).

import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';
import { CONDITIONING_DEFAULTS, type ConditioningConfig, embedConditioning, validateConditioning } from './embeddings.js';
import { ATTENTION_DEFAULTS, type AttentionConfig, attendFor, validateAttention } from './gri-attention.js';
import { type Conditioning, type ConditioningInputs, type EncoderFeatures, type ForwardOptions, TracedEncoderDecoderNet, checkForwardOptions } from './network.js';
import { ModelConfigError, requireInteger, requireOneOf } from './config-checks.js';
import { type ModuleRole, namedModule, normalInit, param } from './declarations.js';
import { conv, linear, matchBatch } from './layers.js';
import { transformerLayer } from './transformer.js';
import type { ModuleContext } from './module-context.js';
import { ENCODER_BLOCKS, type MovableSplit } from './capabilities.js';

export const POSITION_EMBEDDINGS = ['sincos', 'learned'] as const;

export interface DiTConfig extends ConditioningConfig, AttentionConfig {
  arch: 'dit';
  resolution: number;
  inChannels: number;
  outChannels: number;
  patchSize: number;
  width: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  positionEmbedding: (typeof POSITION_EMBEDDINGS)[number];
  projectorDim: number;
  projectorBlock: number;
  projectorHidden: number;
}

export const DIT_DEFAULTS: DiTConfig = {
  arch: 'dit',
  resolution: 32, // side of the (square) input in pixels
  inChannels: 3, // channels of x
  outChannels: 3, // channels of the output
  patchSize: 2, // side of a patch; the sequence has (resolution / patchSize)^2 tokens
  width: 128, // token width, also the conditioning embedding's
  depth: 6, // transformer blocks
  heads: 4, // attention heads per block
  mlpRatio: 4, // hidden width of a block's MLP unit, as a multiple of the width
  positionEmbedding: 'sincos', // 'sincos': fixed 2-D sin-cos as DiT; 'learned': a trained table
  projectorDim: 0, // REPA: output width of an MLP on the tokens after block `projectorBlock` (module `projector`, read only in training); 0: none
  projectorBlock: 2, // REPA: blocks before the projector (REPA and GMem read block 8 of 28)
  projectorHidden: 256, // REPA: hidden width of the projector's three-layer MLP
  ...ATTENTION_DEFAULTS,
  ...CONDITIONING_DEFAULTS,
};

function validate(config: DiTConfig): void {
  for (const key of ['resolution', 'inChannels', 'outChannels', 'patchSize', 'width', 'depth', 'heads', 'mlpRatio'] as const) requireInteger('dit', key, config[key], 1);
  requireOneOf('dit', 'positionEmbedding', config.positionEmbedding, POSITION_EMBEDDINGS);
  requireInteger('dit', 'projectorDim', config.projectorDim, 0);
  if (config.projectorDim > 0) {
    requireInteger('dit', 'projectorHidden', config.projectorHidden, 1);
    if (!Number.isInteger(config.projectorBlock) || config.projectorBlock < 1 || config.projectorBlock > config.depth) {
      throw new ModelConfigError(`dit: setting 'projectorBlock' must be an integer in [1, ${config.depth}] (the depth), got ${config.projectorBlock}`);
    }
  }
  if (config.resolution % config.patchSize !== 0) throw new ModelConfigError(`dit: setting 'resolution' (${config.resolution}) must be divisible by 'patchSize' (${config.patchSize})`);
  if (config.width % config.heads !== 0) throw new ModelConfigError(`dit: setting 'width' (${config.width}) must be divisible by 'heads' (${config.heads})`);
  if (config.width % 4 !== 0) throw new ModelConfigError(`dit: setting 'width' (${config.width}) must be divisible by 4 (the 2-D sin-cos position embedding and the noise features)`);
  validateConditioning('dit', config);
  validateAttention('dit', config);
  const side = config.resolution / config.patchSize;
  attendFor('dit', config, [side, side]);
}

/** MAE/DiT's fixed 2-D embedding [tokens, width]: half the channels encode the row, half the column, each as [sin, cos]. */
function sinCosPositions(side: number, width: number): Float32Array {
  const quarter = width / 4;
  const out = new Float32Array(side * side * width);
  for (let row = 0; row < side; row++) {
    for (let column = 0; column < side; column++) {
      const token = (row * side + column) * width;
      [row, column].forEach((position, axis) => {
        for (let i = 0; i < quarter; i++) {
          const angle = position / 10000 ** (i / quarter);
          out[token + axis * 2 * quarter + i] = Math.sin(angle);
          out[token + axis * 2 * quarter + quarter + i] = Math.cos(angle);
        }
      });
    }
  }
  return out;
}

export class DiT extends TracedEncoderDecoderNet<DiTConfig> implements MovableSplit {
  readonly dataShape: readonly number[];
  protected readonly roles: Readonly<Record<string, ModuleRole>> = { text: 'conditioning', emb: 'conditioning', patch: 'input', blocks: 'backbone', final: 'output', projector: 'output' };

  constructor(config: DiTConfig) {
    validate(config);
    super(config);
    this.dataShape = [config.inChannels, config.resolution, config.resolution];
  }

  private get side(): number {
    return this.config.resolution / this.config.patchSize;
  }

  /** Faster Diffusion's DiT split: 18 of 28 blocks, rescaled; at least one block on each side where the depth allows. */
  get maxEncoderBlocks(): number {
    return this.config.depth;
  }

  defaultEncoderBlocks(): number {
    return Math.min(Math.max(Math.round((this.config.depth * 18) / 28), 1), this.config.depth);
  }

  private encoderBlocks(options: ForwardOptions): number {
    checkForwardOptions('dit', options, [ENCODER_BLOCKS]);
    const k = (options[ENCODER_BLOCKS] as number | undefined) ?? this.defaultEncoderBlocks();
    if (!Number.isInteger(k) || k < 1 || k > this.config.depth) throw new Error(`dit: encoderBlocks must be an integer in [1, ${this.config.depth}], got ${k}`);
    return k;
  }

  embed(ctx: ModuleContext, inputs: ConditioningInputs): Conditioning {
    return embedConditioning(ctx, 'dit', this.config, this.config.width, inputs);
  }

  private blocks(ctx: ModuleContext, tokens: Tensor, from: number, to: number, conditioning: Conditioning): Tensor {
    const attention = attendFor('dit', this.config, [this.side, this.side]);
    const settings = { heads: this.config.heads, mlpRatio: this.config.mlpRatio, context: conditioning.context, modulation: conditioning.emb, attention };
    let h = tokens;
    for (let i = from; i < to; i++) {
      const input = h;
      h = namedModule(ctx, `blocks.${i}`, 'block', () => transformerLayer(ctx, input, settings));
      if (i === this.config.projectorBlock - 1 && this.config.projectorDim > 0) this.projector(ctx, h);
    }
    return h;
  }

  /**
   * REPA's projector on the tokens of an early block: its output [B, tokens, projectorDim] is not part
   * of the network's output; training captures it (ModuleContext plan `projector`) to align it with
   * an encoder's spatial features, and inference graphs prune it.
   */
  private projector(ctx: ModuleContext, tokens: Tensor): void {
    const { projectorHidden, projectorDim } = this.config;
    namedModule(ctx, 'projector', 'head', () => {
      const hidden = F.silu(linear(ctx, 'fc1', F.silu(linear(ctx, 'fc0', tokens, projectorHidden)), projectorHidden));
      return linear(ctx, 'fc2', hidden, projectorDim);
    });
  }

  /** Side of the token grid. */
  get tokenSide(): number {
    return this.side;
  }

  encode(ctx: ModuleContext, x: Tensor, conditioning: Conditioning, options: ForwardOptions = {}): EncoderFeatures {
    const k = this.encoderBlocks(options);
    const { width, patchSize } = this.config;
    const tokenCount = this.side ** 2;
    const tokens = namedModule(ctx, 'patch', 'stem', () => {
      const patches = F.transpose(F.reshape(conv(ctx, '', x, width, patchSize, { stride: patchSize, padding: 0 }), [x.shape[0]!, width, tokenCount]), [0, 2, 1]);
      const positions = this.config.positionEmbedding === 'learned'
        ? param(ctx, 'positions', [tokenCount, width], normalInit(0.02))
        : ctx.graph.constant({ dtype: 'float32', shape: [tokenCount, width], data: sinCosPositions(this.side, width) });
      return F.add(patches, positions);
    });
    return { skips: [], h: this.blocks(ctx, tokens, 0, k, conditioning) };
  }

  decode(ctx: ModuleContext, features: EncoderFeatures, conditioning: Conditioning, options: ForwardOptions = {}): Tensor {
    const k = this.encoderBlocks(options);
    const batch = conditioning.emb.shape[0]!;
    const h = this.blocks(ctx, matchBatch('dit decode', features.h, batch), k, this.config.depth, conditioning);
    return namedModule(ctx, 'final', 'head', () => {
      const { width, patchSize, outChannels } = this.config;
      const [shift, scale] = F.chunk(F.unsqueeze(linear(ctx, 'modulation', conditioning.emb, 2 * width, 'zero'), 1), 2, -1);
      const patches = linear(ctx, 'proj', F.add(F.mul(F.layerNorm(h), F.add(scale!, 1)), shift!), patchSize * patchSize * outChannels, 'zero');
      // [B, T, p*p*C] -> [B, side, side, p, p, C] -> [B, C, side, p, side, p] -> [B, C, H, W]
      const grid = F.reshape(patches, [batch, this.side, this.side, patchSize, patchSize, outChannels]);
      return F.reshape(F.transpose(grid, [0, 5, 1, 3, 2, 4]), [batch, outChannels, this.config.resolution, this.config.resolution]);
    });
  }

  encoderOutputs(batch: number, options: ForwardOptions = {}): Map<string, number[]> {
    const k = this.encoderBlocks(options);
    return new Map([[`blocks.${k - 1}`, [batch, this.side ** 2, this.config.width]]]);
  }
}
