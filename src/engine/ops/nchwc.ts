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

/**
 * The blocked filter of an NCHWc convolution of `inChannels` inputs and `outChannels` outputs, from
 * `source`, a filter with its channel axes swapped ([in, out, kh, kw]), flipped in space when `flip`.
 * ReorderInput blocks the output channels (zero-padding them to whole blocks) and a transpose then
 * moves whole blocks: no step moves single values, which made the one 6-D transpose of single values
 * this replaced the slowest part of reordering a filter (docs/results/engine.md).
 */
function emitBlockedFilter(emit: Emitter, source: string, inChannels: number, outChannels: number, [kh, kw]: [number, number], flip: boolean): string {
  const block = emit.nchwcBlock;
  const outBlocks = roundUp(outChannels, block) / block;
  let quads = source;
  if (outChannels % 4 !== 0) {
    quads = emit.temp('filterQuads'); // ReorderInput takes whole groups of 4 channels
    emit.node('Pad', [source, emit.int64s([0, 0, 0, 0, 0, roundUp(outChannels, 4) - outChannels, 0, 0])], [quads], { mode: 'constant' });
  }
  const blocked = emit.temp('filterByOutput');
  emit.node('ReorderInput', [quads], [blocked], {}, NCHWC_DOMAIN); // [in, out/B, kh, kw, B (out)]
  // OIHWBiBo [O/B, I/B, kh, kw, B (in), B (out)]; or OIHWBo [O/B, I, kh, kw, B (out)] for an NCHW input of fewer channels than a block.
  const whole = inChannels % block === 0;
  let split = emit.temp('filterSplit');
  emit.node('Reshape', [blocked, emit.int64s(whole ? [inChannels / block, block, outBlocks, kh, kw, block] : [inChannels, outBlocks, kh, kw, block])], [split]);
  if (flip) {
    const flipped = emit.temp('filterFlipped');
    const lowest = -(2 ** 62);
    emit.node('Slice', [split, emit.int64s([-1, -1]), emit.int64s([lowest, lowest]), emit.int64s(whole ? [3, 4] : [2, 3]), emit.int64s([-1, -1])], [flipped]);
    split = flipped;
  }
  const moved = emit.temp('filterMoved');
  emit.node('Transpose', [split], [moved], { perm: whole ? [2, 0, 3, 4, 1, 5] : [1, 0, 2, 3, 4] });
  const reordered = emit.temp('filterBlocked');
  emit.node('Reshape', [moved, emit.int64s([outBlocks * block, inChannels, kh, kw])], [reordered]);
  return reordered;
}

/** `x` (NCHW) in the blocked layout; made once per lowering and shared, e.g. an output gradient read by both the input and the weight gradient. */
function emitBlockedActivation(emit: Emitter, x: string): string {
  return emit.shared(`ReorderInput ${x}`, () => {
    const blocked = emit.temp('blocked');
    emit.node('ReorderInput', [x], [blocked], {}, NCHWC_DOMAIN);
    return blocked;
  });
}

/** The NCHWc convolution itself: x (NCHW or blocked) and a blocked filter to NCHW y of `outChannels`. */
function emitBlockedConv(emit: Emitter, x: string, filter: string, bias: string | undefined, y: string, spec: NchwcConvSpec): void {
  const input = spec.inChannels % emit.nchwcBlock === 0 ? emitBlockedActivation(emit, x) : x;
  const out = emit.temp('outputBlocked');
  const [ph, pw] = spec.padding;
  emit.node('Conv', bias ? [input, filter, bias] : [input, filter], [out], {
    kernel_shape: spec.kernel, strides: spec.stride, dilations: spec.dilation, pads: [ph, pw, ph, pw], group: 1,
  }, NCHWC_DOMAIN);
  emit.node('ReorderOutput', [out], [y], { channels: spec.outChannels }, NCHWC_DOMAIN);
}

/**
 * Emits y = conv(x, w) + bias on the NCHWc kernels, x and y in NCHW. `w` is an OIHW filter of
 * `outChannels` x `inChannels`; or, with `adjoint`, the filter of the convolution this one is the
 * adjoint of ([inChannels, outChannels, kh, kw], used in and out channels swapped and flipped in
 * space: the input gradient of that convolution at stride 1). Output channels are padded to whole
 * blocks with zero filters and cropped again when the result is reordered back to NCHW.
 */
export function emitNchwcConv(emit: Emitter, x: string, w: string, bias: string | undefined, y: string, spec: NchwcConvSpec, adjoint = false): void {
  let source = w;
  if (!adjoint) {
    source = emit.temp('filterSwapped');
    emit.node('Transpose', [w], [source], { perm: [1, 0, 2, 3] });
  }
  const filter = emitBlockedFilter(emit, source, spec.inChannels, spec.outChannels, spec.kernel, adjoint);
  const extra = roundUp(spec.outChannels, emit.nchwcBlock) - spec.outChannels;
  let paddedBias = bias;
  if (bias && extra > 0) {
    paddedBias = emit.temp('biasPadded');
    emit.node('Pad', [bias, emit.int64s([0, extra])], [paddedBias], { mode: 'constant' });
  }
  emitBlockedConv(emit, x, filter, paddedBias, y, spec);
}

/**
 * Filter bytes (output channels x images x output positions) one weight-gradient convolution may
 * read. Past this its kernels stream the filter from memory for every image: the weight gradient of
 * a 3x3 64 -> 64 convolution at 32x32 over a batch of 64 (a 16 MB filter) ran at 53-65 GFLOP/s as
 * one convolution and at 90 GFLOP/s as two of 32 images each, summed, while 8 MB filters gained
 * 0-5%, less than the copies that split the batch cost (docs/results/engine.md).
 */
const WEIGHT_GRAD_FILTER_BYTES = 8 * 2 ** 20;
/** Images per weight-gradient convolution: the whole batch, or whole blocks of it with a filter of at most WEIGHT_GRAD_FILTER_BYTES. */
function weightGradChunk(block: number, batch: number, outPadded: number, positions: number): number {
  if (batch % block !== 0) return batch; // a batch padded with zero images stays whole
  let chunk = batch;
  while (chunk % (2 * block) === 0 && outPadded * chunk * positions * 4 > WEIGHT_GRAD_FILTER_BYTES) chunk /= 2;
  return chunk;
}

/**
 * Emits the weight gradient of a convolution (groups of 1) on ONNX Runtime's CPU kernels. A 1x1
 * convolution's is one batched product, dW = sum over n of gy[n] x[n]^T (FusedMatMul reads x
 * transposed in place: no copy). Any other is one NCHWc convolution per chunk of the batch
 * (weightGradChunk), summed:
 * dW[o, i, p, q] = sum over n, y, x of gy[n, o, y, x] * xpad[n, i, y*s + p*d, x*s + q*d]
 * is a convolution of x with the batch as its channels and the input channels as its batch,
 * filtered by gy (its batch as the filter's input channels), with the forward stride as dilation
 * and the forward dilation as stride. Batches that are not whole blocks are padded with zero
 * images, output channels that are not whole groups of 4 with zero gradients. Both big operands
 * reach their blocked layouts through ReorderInput plus a transpose that moves whole blocks, not
 * through a transpose of single values; gy's blocked form is the one the input gradient reads.
 */
export function emitNchwcConvWeightGrad(emit: Emitter, x: string, gy: string, dw: string, spec: NchwcConvSpec & { inSize: [number, number]; outSize: [number, number] }): void {
  const block = emit.nchwcBlock;
  const { batch, inChannels, outChannels } = spec;
  const [kh, kw] = spec.kernel;
  const [ho, wo] = spec.outSize;
  if (kh === 1 && kw === 1 && [...spec.stride, ...spec.dilation].every((v) => v === 1) && spec.padding.every((v) => v === 0)) {
    const [gyRows, xRows, products] = [emit.temp('gradRows'), emit.temp('inputRows'), emit.temp('products')];
    emit.node('Reshape', [gy, emit.int64s([batch, outChannels, ho * wo])], [gyRows]);
    emit.node('Reshape', [x, emit.int64s([batch, inChannels, ho * wo])], [xRows]);
    emit.node('FusedMatMul', [gyRows, xRows], [products], { transB: 1 }, 'com.microsoft');
    const summed = emit.temp('summed');
    emit.node('ReduceSum', [products, emit.int64s([0])], [summed], { keepdims: 0 });
    emit.node('Reshape', [summed, emit.int64s([outChannels, inChannels, 1, 1])], [dw]);
    return;
  }
  const batchPadded = batch < block ? batch : roundUp(batch, block);
  const quads = roundUp(outChannels, 4); // ReorderInput takes whole groups of 4 channels
  let gyPadded = gy;
  if (batchPadded > batch || quads > outChannels) {
    gyPadded = emit.temp('gradPadded');
    emit.node('Pad', [gy, emit.int64s([0, 0, 0, 0, batchPadded - batch, quads - outChannels, 0, 0])], [gyPadded], { mode: 'constant' });
  }
  const outPadded = roundUp(outChannels, block);
  const gyBlocked = emitBlockedActivation(emit, gyPadded);
  const chunk = weightGradChunk(block, batchPadded, outPadded, ho * wo);
  const split = (value: string, hint: string): string[] => {
    if (chunk === batchPadded) return [value];
    const parts = Array.from({ length: batchPadded / chunk }, () => emit.temp(hint));
    emit.node('Split', [value, emit.int64s(parts.map(() => chunk))], parts, { axis: 0 });
    return parts;
  };
  const gyChunks = split(gyBlocked, 'gradChunk');
  const fulls = split(x, 'inputChunk').map((xChunk, k) => {
    const full = emit.temp('weightGradFull');
    emitWeightGradConv(emit, xChunk, gyChunks[k]!, full, { ...spec, batch: chunk === batchPadded ? batch : chunk, batchPadded: chunk, outPadded });
    return full;
  });
  let full = fulls[0]!;
  if (fulls.length > 1) {
    full = emit.temp('weightGradSummed');
    emit.node('Sum', fulls, [full]);
  }
  // full is [C_in, C_out, >= kh, >= kw]: positions past the kernel come from padding the forward
  // never reached (a stride that leaves rows or columns of the padded input unread).
  const fullSize = [0, 1].map((axis) => Math.floor((spec.inSize[axis]! + 2 * spec.padding[axis]! - spec.stride[axis]! * (spec.outSize[axis]! - 1) - 1) / spec.dilation[axis]!) + 1);
  let cropped = full;
  if (fullSize[0] !== kh || fullSize[1] !== kw) {
    cropped = emit.temp('weightGradCropped');
    emit.node('Slice', [full, emit.int64s([0, 0]), emit.int64s([kh, kw]), emit.int64s([2, 3])], [cropped]);
  }
  emit.node('Transpose', [cropped], [dw], { perm: [1, 0, 2, 3] });
}

/**
 * One weight-gradient convolution: x, `batch` images (NCHW), and gyBlocked, their output gradient
 * blocked over its channels and padded to `batchPadded` images, to full ([C_in, C_out, >= kh, >= kw]).
 */
function emitWeightGradConv(emit: Emitter, x: string, gyBlocked: string, full: string, spec: NchwcConvSpec & { outSize: [number, number]; batchPadded: number; outPadded: number }): void {
  const block = emit.nchwcBlock;
  const { batch, batchPadded, outPadded, inChannels, outChannels } = spec;
  // Images: x as [C_in, N, H, W] (a transpose of whole planes), zero-padded in space here rather than
  // by the convolution: with a 3x3 output every position would touch the padding, and the kernels
  // take a slower path for those (measured 2x); blocked by emitBlockedConv.
  const byChannel = emit.temp('imagesByChannel');
  emit.node('Transpose', [x], [byChannel], { perm: [1, 0, 2, 3] });
  const [ph, pw] = spec.padding;
  let images = byChannel;
  if (ph > 0 || pw > 0 || batchPadded > batch) {
    images = emit.temp('imagesPadded');
    emit.node('Pad', [byChannel, emit.int64s([0, 0, ph, pw, 0, batchPadded - batch, ph, pw])], [images], { mode: 'constant' });
  }
  // Filters: gy blocked over its channels, [N, C_out/B, Ho*Wo, B], then whole blocks moved to the
  // filter layout [C_out/B, N/B, Ho*Wo, B (n), B (o)] (or [C_out/B, N, Ho*Wo, B (o)] for N < B).
  const [ho, wo] = spec.outSize;
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
  emitBlockedConv(emit, images, filter, undefined, full, {
    batch: inChannels,
    inChannels: batchPadded,
    outChannels,
    kernel: spec.outSize,
    stride: spec.dilation,
    padding: [0, 0],
    dilation: spec.stride,
  });
}
