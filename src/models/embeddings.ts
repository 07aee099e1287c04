// The conditioning shared by every architecture: the noise label's Fourier or positional features
// through an MLP, plus a class embedding (with a null label for classifier-free guidance), a
// conditioning vector, and a caption through a tiny text encoder. All of it is summed into one
// embedding vector, activated once (ADM and DiT both apply SiLU before their per-block linears).

import { type HostTensor, hostTensor, sameShape } from '../engine/host-tensor.js';
import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';
import { RngStream } from '../engine/rng.js';
import { type Conditioning, type ConditioningInputs } from './network.js';
import { ModelConfigError, requireInteger, requireOneOf } from './config-checks.js';
import { layerNorm, linear } from './layers.js';
import { namedModule, normalInit, param } from './declarations.js';
import { transformerLayer } from './transformer.js';
import type { ModuleContext } from './module-context.js';

export const NOISE_EMBEDDINGS = ['fourier', 'positional'] as const;
export type NoiseEmbedding = (typeof NOISE_EMBEDDINGS)[number];

export interface ConditioningConfig {
  noiseEmbedding: NoiseEmbedding;
  fourierScale: number;
  numClasses: number;
  captionTokens: number;
  textVocabSize: number;
  textWidth: number;
  textLayers: number;
  textHeads: number;
  condVectorDim: number;
}

export const CONDITIONING_DEFAULTS: ConditioningConfig = {
  noiseEmbedding: 'fourier', // 'fourier': fixed random frequencies for labels of order 1 (EDM's ln(sigma)/4, t in [0, 1]); 'positional': sinusoids with periods up to 10000 for labels of order 1000 (DDPM's step index)
  fourierScale: 16, // standard deviation of the Fourier frequencies (cycles per unit of noise label), as NCSN++
  numClasses: 0, // class labels 0..numClasses-1, and numClasses as the null label; 0: no class conditioning
  captionTokens: 0, // caption length in tokens (see tokenizeCaptions); 0: no caption conditioning
  textVocabSize: 64, // rows of the text encoder's token table: at least the caption vocabulary's size
  textWidth: 64, // width of the text encoder's tokens
  textLayers: 1, // transformer layers of the text encoder
  textHeads: 2, // attention heads of the text encoder
  condVectorDim: 0, // width of an extra conditioning vector added to the embedding (GMem's slot); 0: none
};

export function validateConditioning(arch: string, config: ConditioningConfig): void {
  requireOneOf(arch, 'noiseEmbedding', config.noiseEmbedding, NOISE_EMBEDDINGS);
  if (!(config.fourierScale > 0)) throw new ModelConfigError(`${arch}: setting 'fourierScale' must be > 0, got ${config.fourierScale}`);
  requireInteger(arch, 'numClasses', config.numClasses, 0);
  requireInteger(arch, 'captionTokens', config.captionTokens, 0);
  requireInteger(arch, 'condVectorDim', config.condVectorDim, 0);
  if (config.captionTokens === 0) return;
  requireInteger(arch, 'textLayers', config.textLayers, 0);
  requireInteger(arch, 'textHeads', config.textHeads, 1);
  requireInteger(arch, 'textWidth', config.textWidth, 1);
  if (config.textWidth % config.textHeads !== 0) throw new ModelConfigError(`${arch}: setting 'textWidth' (${config.textWidth}) must be divisible by 'textHeads' (${config.textHeads})`);
  if (config.textVocabSize < CAPTION_VOCABULARY_SIZE) {
    throw new ModelConfigError(`${arch}: setting 'textVocabSize' (${config.textVocabSize}) must be at least the caption vocabulary's ${CAPTION_VOCABULARY_SIZE} tokens`);
  }
}

// ---------------------------------------------------------------------------------------------
// Captions. A fixed word list (sizes, colours, shapes, positions and a few function words); any
// other word becomes UNKNOWN and short captions are padded with PAD. The all-PAD caption is the
// null caption of classifier-free guidance.

export const CAPTION_PAD = 0;
export const CAPTION_UNKNOWN = 1;
export const CAPTION_WORDS: readonly string[] = [
  'tiny', 'small', 'medium', 'large', 'big', 'huge',
  'red', 'green', 'blue', 'yellow', 'orange', 'purple', 'pink', 'cyan', 'magenta', 'white', 'black', 'gray', 'grey', 'brown',
  'dark', 'light', 'bright',
  'circle', 'disc', 'square', 'rectangle', 'triangle', 'star', 'ellipse', 'diamond', 'cross', 'plus', 'hexagon', 'pentagon', 'ring', 'heart', 'line', 'stripe',
  'top', 'bottom', 'left', 'right', 'center', 'centre', 'middle', 'upper', 'lower',
  'a', 'an', 'the', 'on', 'in', 'at', 'of', 'with', 'and', 'background', 'rotated',
];
const CAPTION_VOCABULARY_SIZE = CAPTION_WORDS.length + 2;
const WORD_IDS = new Map(CAPTION_WORDS.map((word, i) => [word, i + 2]));

/** Token ids [captions.length, tokens] (int64) of lower-cased words; '' gives the null caption. */
export function tokenizeCaptions(captions: readonly string[], tokens: number): HostTensor<'int64'> {
  const out = hostTensor('int64', [captions.length, tokens]);
  captions.forEach((caption, row) => {
    const words = caption.toLowerCase().split(/[^a-z]+/).filter(Boolean);
    if (words.length > tokens) throw new Error(`caption "${caption}" has ${words.length} words; the model takes at most ${tokens} (captionTokens)`);
    words.forEach((word, i) => (out.data[row * tokens + i] = BigInt(WORD_IDS.get(word) ?? CAPTION_UNKNOWN)));
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The embedding.

/** Fourier frequencies are part of the architecture, not parameters: the same for every model. */
function noiseFrequencies(kind: NoiseEmbedding, count: number, fourierScale: number): Float32Array {
  if (kind === 'positional') return Float32Array.from({ length: count }, (_, i) => 10000 ** (-i / count));
  const normals = RngStream.fromSeed(0, 'fourier-noise-embedding').normal({ start: 0, count: 1 }, count);
  return normals.map((z) => 2 * Math.PI * fourierScale * z);
}

/** [B] noise labels -> [B, width] features [cos(f t), sin(f t)]. */
function noiseFeatures(noise: Tensor, config: ConditioningConfig, width: number): Tensor {
  const half = width / 2;
  const frequencies = noise.graph.constant({ dtype: 'float32', shape: [1, half], data: noiseFrequencies(config.noiseEmbedding, half, config.fourierScale) });
  const phases = F.mul(F.reshape(noise, [-1, 1]), frequencies);
  return F.concat([F.cos(phases), F.sin(phases)], 1);
}

/** The tiny text encoder: token and position embeddings, transformer layers `text.<i>`, final LayerNorm. */
function textEncoder(ctx: ModuleContext, config: ConditioningConfig, caption: Tensor): Tensor {
  const { textVocabSize, textWidth, captionTokens } = config;
  let tokens = F.embedding(param(ctx, 'tokens', [textVocabSize, textWidth], normalInit(0.02)), caption);
  tokens = F.add(tokens, param(ctx, 'positions', [captionTokens, textWidth], normalInit(0.02)));
  for (let i = 0; i < config.textLayers; i++) {
    const input = tokens;
    tokens = namedModule(ctx, `${i}`, 'layer', () => transformerLayer(ctx, input, { heads: config.textHeads, mlpRatio: 4 }));
  }
  return layerNorm(ctx, 'norm', tokens);
}

function checkConditioningInputs(arch: string, config: ConditioningConfig, inputs: ConditioningInputs): void {
  const batch = inputs.noise.shape[0]!;
  const expect = (name: string, tensor: Tensor | undefined, setting: string, enabled: boolean, shape: number[], dtype: string): void => {
    if (!enabled) {
      if (tensor) throw new Error(`${arch}: got a ${name} input but the model has no ${name} conditioning (setting '${setting}' is 0)`);
      return;
    }
    if (!tensor) throw new Error(`${arch}: the model is conditioned on ${name} (setting '${setting}'): pass a ${name} input`);
    if (tensor.dtype !== dtype || !sameShape(tensor.shape, shape)) {
      throw new Error(`${arch}: ${name} must be ${dtype}[${shape.join(', ')}], got ${tensor.dtype}[${tensor.shape.join(', ')}]`);
    }
  };
  if (inputs.noise.rank !== 1 || inputs.noise.dtype !== 'float32') throw new Error(`${arch}: noise must be float32[batch], got ${inputs.noise}`);
  expect('label', inputs.label, 'numClasses', config.numClasses > 0, [batch], 'int64');
  expect('caption', inputs.caption, 'captionTokens', config.captionTokens > 0, [batch, config.captionTokens], 'int64');
  expect('condVector', inputs.condVector, 'condVectorDim', config.condVectorDim > 0, [batch, config.condVectorDim], 'float32');
}

/**
 * The activated embedding `emb` [B, width] (module `emb`) and, with captions, the text encoder's
 * tokens (module `text`), which also enter `emb` mean-pooled so that a network without
 * cross-attention still sees the caption.
 */
export function embedConditioning(ctx: ModuleContext, arch: string, config: ConditioningConfig, width: number, inputs: ConditioningInputs): Conditioning {
  checkConditioningInputs(arch, config, inputs);
  const caption = inputs.caption;
  const context = caption ? namedModule(ctx, 'text', 'embedding', () => textEncoder(ctx, config, caption)) : undefined;
  const emb = namedModule(ctx, 'emb', 'embedding', () => {
    let e = linear(ctx, 'noise1', F.silu(linear(ctx, 'noise0', noiseFeatures(inputs.noise, config, width), width)), width);
    // Unit-variance rows, as EDM's label mapping, so a label weighs like the noise embedding.
    if (inputs.label) e = F.add(e, F.embedding(param(ctx, 'label', [config.numClasses + 1, width], normalInit(1)), inputs.label));
    if (inputs.condVector) e = F.add(e, linear(ctx, 'condVector', inputs.condVector, width));
    if (context) e = F.add(e, linear(ctx, 'caption', F.mean(context, 1), width));
    return F.silu(e);
  });
  return { emb, context };
}
