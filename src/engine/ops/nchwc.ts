// Lowering of 2-D convolutions onto ONNX Runtime's NCHWc CPU kernels (operator set
// com.microsoft.nchwc): activations in blocks of `block` channels, filters in the blocked layouts
// those kernels read. ONNX Runtime only rewrites a Conv into these kernels itself when its weight is
// a constant; in a training step the weights are inputs, so the graph does the reordering itself
// (a reshape and transpose of the small filter) and reaches the same kernels for the forward pass,
// the input gradient and the weight gradient (docs/results/engine.md).

import type { Emitter } from '../graph.js';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

export interface NchwcConvSpec {
  batch: number;
  inChannels: number;
  outChannels: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

const roundUp = (n: number, block: number): number => Math.ceil(n / block) * block;

/**
 * Whether the NCHWc kernels take a convolution with `inChannels` input channels (groups of 1):
 * a whole number of blocks, or fewer channels than a block (read directly in NCHW).
 */
export function nchwcFits(emit: Emitter, inChannels: number): boolean {
  const block = emit.nchwcBlock;
  return block > 0 && (inChannels % block === 0 || inChannels < block);
}

/** Reorders an OIHW filter (output channels padded to whole blocks) for the NCHWc kernels; both layouts keep the OIHW shape. */
function emitBlockedFilter(emit: Emitter, w: string, [outPadded, inChannels, kh, kw]: number[]): string {
  const block = emit.nchwcBlock;
  const split = emit.temp('filterSplit');
  const moved = emit.temp('filterMoved');
  const reordered = emit.temp('filterBlocked');
  if (inChannels! % block === 0) {
    // OIHWBiBo: [O/B, I/B, kh, kw, B (in), B (out)]
    emit.node('Reshape', [w, emit.int64s([outPadded! / block, block, inChannels! / block, block, kh!, kw!])], [split]);
    emit.node('Transpose', [split], [moved], { perm: [0, 2, 4, 5, 3, 1] });
  } else {
    // OIHWBo, for an NCHW input of fewer channels than a block: [O/B, I, kh, kw, B (out)]
    emit.node('Reshape', [w, emit.int64s([outPadded! / block, block, inChannels!, kh!, kw!])], [split]);
    emit.node('Transpose', [split], [moved], { perm: [0, 2, 3, 4, 1] });
  }
  emit.node('Reshape', [moved, emit.int64s([outPadded!, inChannels!, kh!, kw!])], [reordered]);
  return reordered;
}

/** The NCHWc convolution itself: x (NCHW or blocked) and a blocked filter to NCHW y of `outChannels`. */
function emitBlockedConv(emit: Emitter, x: string, filter: string, bias: string | undefined, y: string, spec: NchwcConvSpec): void {
  let input = x;
  if (spec.inChannels % emit.nchwcBlock === 0) {
    input = emit.temp('inputBlocked');
    emit.node('ReorderInput', [x], [input], {}, NCHWC_DOMAIN);
  }
  const out = emit.temp('outputBlocked');
  const [ph, pw] = spec.padding;
  emit.node('Conv', bias ? [input, filter, bias] : [input, filter], [out], {
    kernel_shape: spec.kernel, strides: spec.stride, dilations: spec.dilation, pads: [ph, pw, ph, pw], group: 1,
  }, NCHWC_DOMAIN);
  emit.node('ReorderOutput', [out], [y], { channels: spec.outChannels }, NCHWC_DOMAIN);
}

/**
 * Emits y = conv(x, w) + bias on the NCHWc kernels, x and y in NCHW. `w` is an OIHW filter of
 * `outChannels` x `inChannels`; output channels are padded to whole blocks with zero filters and
 * cropped again when the result is reordered back to NCHW.
 */
export function emitNchwcConv(emit: Emitter, x: string, w: string, bias: string | undefined, y: string, spec: NchwcConvSpec): void {
  const outPadded = roundUp(spec.outChannels, emit.nchwcBlock);
  const extra = outPadded - spec.outChannels;
  let filter = w;
  let paddedBias = bias;
  if (extra > 0) {
    filter = emit.temp('filterPadded');
    emit.node('Pad', [w, emit.int64s([0, 0, 0, 0, extra, 0, 0, 0])], [filter], { mode: 'constant' });
    if (bias) {
      paddedBias = emit.temp('biasPadded');
      emit.node('Pad', [bias, emit.int64s([0, extra])], [paddedBias], { mode: 'constant' });
    }
  }
  emitBlockedConv(emit, x, emitBlockedFilter(emit, filter, [outPadded, spec.inChannels, ...spec.kernel]), paddedBias, y, spec);
}

/** Whether the weight gradient of a convolution with `outChannels` outputs (groups of 1) runs on the NCHWc kernels. */
export function nchwcWeightGradFits(emit: Emitter, outChannels: number): boolean {
  return emit.nchwcBlock > 0 && outChannels % 4 === 0; // ReorderInput takes whole groups of 4 channels
}

/**
 * Emits the weight gradient of a convolution (groups of 1) as one NCHWc convolution:
 * dW[o, i, p, q] = sum over n, y, x of gy[n, o, y, x] * xpad[n, i, y*s + p*d, x*s + q*d]
 * is a convolution of x with the batch as its channels and the input channels as its batch,
 * filtered by gy (its batch as the filter's input channels), with the forward stride as dilation
 * and the forward dilation as stride. Batches that are not whole blocks are padded with zero
 * images. Both big operands reach their blocked layouts through ReorderInput plus a transpose that
 * moves whole blocks, not through a transpose of single values.
 */
export function emitNchwcConvWeightGrad(emit: Emitter, x: string, gy: string, dw: string, spec: NchwcConvSpec & { outSize: [number, number] }): void {
  const block = emit.nchwcBlock;
  const { batch, inChannels, outChannels } = spec;
  const batchPadded = batch < block ? batch : roundUp(batch, block);
  let gyPadded = gy;
  if (batchPadded > batch) {
    gyPadded = emit.temp('gradPadded');
    emit.node('Pad', [gy, emit.int64s([0, 0, 0, 0, batchPadded - batch, 0, 0, 0])], [gyPadded], { mode: 'constant' });
  }
  // Images: x as [C_in, N, H, W] (a transpose of whole planes), zero-padded in space here rather than
  // by the convolution: with a 3x3 output every position would touch the padding, and the kernels
  // take a slower path for those (measured 2x); blocked by emitBlockedConv.
  const byChannel = emit.temp('imagesByChannel');
  emit.node('Transpose', [x], [byChannel], { perm: [1, 0, 2, 3] });
  const [ph, pw] = spec.padding;
  const images = emit.temp('imagesPadded');
  emit.node('Pad', [byChannel, emit.int64s([0, 0, ph, pw, 0, batchPadded - batch, ph, pw])], [images], { mode: 'constant' });
  // Filters: gy blocked over its channels, [N, C_out/B, Ho*Wo, B], then whole blocks moved to the
  // filter layout [C_out/B, N/B, Ho*Wo, B (n), B (o)] (or [C_out/B, N, Ho*Wo, B (o)] for N < B).
  const [ho, wo] = spec.outSize;
  const outPadded = roundUp(outChannels, block);
  const gyBlocked = emit.temp('gradBlocked');
  emit.node('ReorderInput', [gyPadded], [gyBlocked], {}, NCHWC_DOMAIN);
  const filter = emit.temp('gradFilter');
  const split = emit.temp('gradSplit');
  const moved = emit.temp('gradFilterMoved');
  if (batchPadded % block === 0) {
    emit.node('Reshape', [gyBlocked, emit.int64s([batchPadded / block, block, outPadded / block, ho * wo, block])], [split]);
    emit.node('Transpose', [split], [moved], { perm: [2, 0, 3, 1, 4] });
  } else {
    emit.node('Reshape', [gyBlocked, emit.int64s([batchPadded, outPadded / block, ho * wo, block])], [split]);
    emit.node('Transpose', [split], [moved], { perm: [1, 0, 2, 3] });
  }
  emit.node('Reshape', [moved, emit.int64s([outPadded, batchPadded, ho, wo])], [filter]);
  const full = emit.temp('weightGradFull');
  emitBlockedConv(emit, images, filter, undefined, full, {
    batch: inChannels,
    inChannels: batchPadded,
    outChannels,
    kernel: spec.outSize,
    stride: spec.dilation,
    padding: [0, 0],
    dilation: spec.stride,
  }); // [C_in, C_out, >= kh, >= kw]: positions past the kernel come from padding the forward never reached
  const [kh, kw] = spec.kernel;
  const cropped = emit.temp('weightGradCropped');
  emit.node('Slice', [full, emit.int64s([0, 0]), emit.int64s([kh, kw]), emit.int64s([2, 3])], [cropped]);
  emit.node('Transpose', [cropped], [dw], { perm: [1, 0, 2, 3] });
}
