// What a network can do, as interfaces the acceleration policies (src/accel) and the sampling
// session ask for, instead of testing concrete classes. A new architecture (a memory-conditioned DiT,
// a CondConv U-Net, an imported ONNX graph wrapped as a network) gets a policy by implementing the
// capability it needs; no policy names an architecture.
//
//   LongSkips        Skip-Tuning (scales each long skip by a factor, graph input skipScale
//                    [rows, numSkips]) and DeepCache (caches the deep features below a skip branch).
//                    The network's forward multiplies skip i by skipScale[:, i] before using it.
//   EncoderDecoderNet (network.ts) Faster Diffusion's encoder propagation and parallel decoding:
//                    decode(encode(x)) == forward, and the decoder runs alone on cached features.
//   MovableSplit     an encoder/decoder split whose position the caller chooses (the DiT's first K
//                    blocks as the encoder: --encoder-propagation blocks=K).
//
// Feature inheritance needs only modules() (every DiffusionNet has it): named module outputs that
// the ModuleContext can capture and reuse.

import type { DiffusionNet, EncoderDecoderNet } from './network.js';

/** One long skip: emitted by the encoder module `source`, consumed by the decoder module `consumer`. */
export interface SkipInfo {
  index: number;
  source: string;
  consumer: string;
  level: number;
  resolution: number;
  channels: number;
}

/** LongSkips' forward option: Skip-Tuning factors, [numSkips] or [B, numSkips], multiplied into each skip before the decoder reads it. */
export const SKIP_SCALE = 'skipScale';
/** MovableSplit's forward option: how many leading blocks form the encoder. */
export const ENCODER_BLOCKS = 'encoderBlocks';

/** A network with long skips from encoder to decoder, each scaled by its entry of skipScale. */
export interface LongSkips {
  /** Long skips, outermost first. */
  readonly numSkips: number;
  /** The skips in index order (0 = outermost). */
  skips(): SkipInfo[];
}

/** An encoder/decoder split the caller may move: the first `encoderBlocks` blocks form the encoder. */
export interface MovableSplit {
  /** The blocks the split can take: 1..maxEncoderBlocks. */
  readonly maxEncoderBlocks: number;
}

export function hasLongSkips(net: DiffusionNet): net is DiffusionNet & LongSkips {
  return typeof (net as Partial<LongSkips>).numSkips === 'number' && typeof (net as Partial<LongSkips>).skips === 'function';
}

export function isEncoderDecoder(net: DiffusionNet): net is EncoderDecoderNet {
  const candidate = net as Partial<EncoderDecoderNet>;
  return typeof candidate.encode === 'function' && typeof candidate.decode === 'function' && typeof candidate.encoderOutputs === 'function';
}

export function hasMovableSplit(net: DiffusionNet): net is EncoderDecoderNet & MovableSplit {
  return isEncoderDecoder(net) && typeof (net as Partial<MovableSplit>).maxEncoderBlocks === 'number';
}
