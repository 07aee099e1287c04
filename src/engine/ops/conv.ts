// Convolution, transposed convolution, average pooling and nearest upsampling over NCHW tensors.
// On ONNX Runtime's CPU kernels, convolutions, their input gradients and their weight gradients are
// lowered onto the NCHWc kernels (nchwc.ts); elsewhere they are plain ONNX.

import { type Attrs, type Emitter, type OpDef, type Tensor, ShapeError, apply1, formatShape } from '../graph.js';
import { fill } from './shape.js';
import { div, mul } from './elementwise.js';
import { type NchwcConvSpec, emitNchwcConv, emitNchwcConvWeightGrad, nchwcFits } from './nchwc.js';
import { sum } from './reduce.js';

type Pair = [number, number];

export interface ConvOptions {
  stride?: number | Pair;
  padding?: number | Pair;
  dilation?: number | Pair;
  groups?: number;
}

interface ConvAttrs extends Attrs {
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  groups: number;
}

interface ConvTransposeAttrs extends ConvAttrs {
  outputPadding: Pair;
}

const pair = (v: number | Pair | undefined, fallback: number): Pair => (v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : [v[0], v[1]]);

function convAttrs(options: ConvOptions): ConvAttrs {
  const attrs = { stride: pair(options.stride, 1), padding: pair(options.padding, 0), dilation: pair(options.dilation, 1), groups: options.groups ?? 1 };
  if ([...attrs.stride, ...attrs.dilation].some((v) => !Number.isInteger(v) || v < 1) || attrs.padding.some((v) => !Number.isInteger(v) || v < 0) || !Number.isInteger(attrs.groups) || attrs.groups < 1) {
    throw new ShapeError(`conv: invalid options ${JSON.stringify(attrs)}`);
  }
  return attrs;
}

function convOutSize(size: number, kernel: number, { stride, padding, dilation }: ConvAttrs, axis: 0 | 1): number {
  return Math.floor((size + 2 * padding[axis] - dilation[axis] * (kernel - 1) - 1) / stride[axis]) + 1;
}

function onnxConvAttrs({ stride, padding, dilation, groups }: ConvAttrs): Attrs {
  return { strides: stride, pads: [padding[0], padding[1], padding[0], padding[1]], dilations: dilation, group: groups };
}

function checkBias(op: string, bias: Tensor | undefined, channels: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) throw new ShapeError(`${op}: bias ${formatShape(bias.shape)} should be [${channels}]`);
}

const conv2dOp: OpDef<ConvAttrs> = {
  name: 'conv2d',
  infer: ([x, w, b], attrs) => {
    const problem = (why: string): ShapeError => new ShapeError(`conv2d: ${why} (input ${formatShape(x!.shape)}, weight ${formatShape(w!.shape)}, groups ${attrs.groups})`);
    if (x!.rank !== 4 || w!.rank !== 4) throw problem('input and weight must be 4-D (NCHW and [out, in/groups, kh, kw])');
    const [n, c, h, wd] = x!.shape as number[];
    const [cout, cinPerGroup, kh, kw] = w!.shape as number[];
    if (c! % attrs.groups !== 0 || cout! % attrs.groups !== 0) throw problem('channels are not divisible by groups');
    if (c! / attrs.groups !== cinPerGroup) throw problem(`input has ${c} channels but the weight expects ${cinPerGroup! * attrs.groups}`);
    checkBias('conv2d', b, cout!);
    const ho = convOutSize(h!, kh!, attrs, 0);
    const wo = convOutSize(wd!, kw!, attrs, 1);
    if (ho < 1 || wo < 1) throw problem('the kernel does not fit in the padded input');
    return [{ shape: [n!, cout!, ho, wo], dtype: x!.dtype }];
  },
  lower: (emit, inputs, outputs, attrs, node) => {
    const [x, w] = node.inputs as [Tensor, Tensor];
    const [n, cin] = x.shape as number[];
    const [cout, , kh, kw] = w.shape as number[];
    emitConv(emit, inputs, outputs[0]!, { batch: n!, inChannels: cin!, outChannels: cout!, kernel: [kh!, kw!], stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation }, attrs.groups, x.dtype);
  },
  vjp: ([g], { inputs: [x, w, b], attrs }) => {
    const dx = convInputGrad(g!, w!, x!.shape, attrs);
    const dw = apply1(conv2dWeightGradOp, [x!, g!], { ...attrs, kernel: [w!.shape[2]!, w!.shape[3]!] });
    return b ? [dx, dw, sum(g!, [0, 2, 3])] : [dx, dw];
  },
  flops: ({ inputs: [, w], outputs: [y] }) => 2 * y!.size * (w!.shape[1]! * w!.shape[2]! * w!.shape[3]!),
};

/** A convolution [x, w, bias?] -> y: on the NCHWc kernels where they take it, else ONNX's Conv. */
function emitConv(emit: Emitter, inputs: readonly (string | undefined)[], y: string, spec: NchwcConvSpec, groups: number, dtype: string): void {
  if (groups === 1 && dtype === 'float32' && nchwcFits(emit, spec.inChannels)) {
    emitNchwcConv(emit, inputs[0]!, inputs[1]!, inputs[2], y, spec);
  } else if (groupsOnNchwc(emit, dtype, spec.inChannels, groups)) {
    emitGroupsOnNchwc(emit, inputs, y, spec, groups);
  } else {
    const [ph, pw] = spec.padding;
    emit.node('Conv', inputs.filter((name): name is string => name !== undefined), [y], { strides: spec.stride, pads: [ph, pw, ph, pw], dilations: spec.dilation, group: groups, kernel_shape: spec.kernel });
  }
}

/**
 * A grouped convolution whose groups each hold whole NCHWc blocks of channels (a conditional
 * convolution's batch folded into groups, cond-conv.ts) runs as one NCHWc convolution per group:
 * ONNX Runtime's own grouped Conv takes a generic path that measured about 2x slower per FLOP.
 * Up to 64 groups, so that the graph stays small.
 */
function groupsOnNchwc(emit: Emitter, dtype: string, inChannels: number, groups: number): boolean {
  const perGroup = inChannels / groups;
  return groups > 1 && groups <= 64 && dtype === 'float32' && emit.nchwcBlock > 0 && perGroup >= emit.nchwcBlock && perGroup % emit.nchwcBlock === 0;
}

function emitGroupsOnNchwc(emit: Emitter, [x, w, bias]: readonly (string | undefined)[], y: string, spec: NchwcConvSpec, groups: number): void {
  const split = (value: string, axis: number, channels: number, hint: string): string[] => {
    const parts = Array.from({ length: groups }, () => emit.temp(hint));
    emit.node('Split', [value, emit.int64s(new Array(groups).fill(channels / groups))], parts, { axis });
    return parts;
  };
  const inputs = split(x!, 1, spec.inChannels, 'groupInput');
  const filters = split(w!, 0, spec.outChannels, 'groupFilter');
  const biases = bias ? split(bias, 0, spec.outChannels, 'groupBias') : [];
  const outs = inputs.map((input, g) => {
    const out = emit.temp('groupOutput');
    emitNchwcConv(emit, input, filters[g]!, biases[g], out, { ...spec, inChannels: spec.inChannels / groups, outChannels: spec.outChannels / groups });
    return out;
  });
  emit.node('Concat', outs, [y], { axis: 1 });
}

/**
 * The gradient of conv2d(x, w) with respect to x (of shape `inputShape`) given the output gradient
 * g: the transposed convolution of g with w, which at stride 1 is lowered as a convolution with the
 * adjoint kernel (convTranspose2dOp).
 */
function convInputGrad(g: Tensor, w: Tensor, inputShape: readonly number[], attrs: ConvAttrs): Tensor {
  const [, , h, wd] = inputShape as number[];
  const [, , kh, kw] = w.shape as number[];
  const outputPadding: Pair = [
    h! - ((g.shape[2]! - 1) * attrs.stride[0] + attrs.dilation[0] * (kh! - 1) + 1 - 2 * attrs.padding[0]),
    wd! - ((g.shape[3]! - 1) * attrs.stride[1] + attrs.dilation[1] * (kw! - 1) + 1 - 2 * attrs.padding[1]),
  ];
  return apply1(convTranspose2dOp, [g, w], { ...attrs, outputPadding });
}

/**
 * The kernel of the adjoint convolution: [out, in/groups, kh, kw] -> [in, out/groups, kh, kw] with
 * in and out channels swapped within each group and the kernel flipped in space.
 */
function emitAdjointKernel(emit: Emitter, w: string, [cout, cinPerGroup, kh, kw]: readonly number[], groups: number): string {
  const swapped = emit.temp('swapped');
  if (groups === 1) {
    emit.node('Transpose', [w], [swapped], { perm: [1, 0, 2, 3] });
  } else {
    const split = emit.temp('byGroup');
    const moved = emit.temp('swappedByGroup');
    emit.node('Reshape', [w, emit.int64s([groups, cout! / groups, cinPerGroup!, kh!, kw!])], [split]);
    emit.node('Transpose', [split], [moved], { perm: [0, 2, 1, 3, 4] });
    emit.node('Reshape', [moved, emit.int64s([cinPerGroup! * groups, cout! / groups, kh!, kw!])], [swapped]);
  }
  const adjoint = emit.temp('adjoint');
  const lowest = -(2 ** 62);
  emit.node('Slice', [swapped, emit.int64s([-1, -1]), emit.int64s([lowest, lowest]), emit.int64s([2, 3]), emit.int64s([-1, -1])], [adjoint]);
  return adjoint;
}

interface WeightGradAttrs extends ConvAttrs {
  kernel: Pair;
}
/**
 * The weight gradient of a convolution from its input x and output gradient gy:
 * dW[o, i, p, q] = sum over batch and output positions of gy[n, o, y, x] * xpad[n, i, y*s + p*d, x*s + q*d].
 * On ONNX Runtime's CPU kernels it is one NCHWc convolution (nchwc.ts); in portable ONNX, one
 * batched matmul per kernel offset on the shifted input window, summed over the batch.
 */
const conv2dWeightGradOp: OpDef<WeightGradAttrs> = {
  name: 'conv2dWeightGrad',
  infer: ([x, gy], attrs) => {
    const [n, cin, h, wd] = x!.shape as number[];
    const [ng, cout, ho, wo] = gy!.shape as number[];
    const [kh, kw] = attrs.kernel;
    if (n !== ng || ho !== convOutSize(h!, kh, attrs, 0) || wo !== convOutSize(wd!, kw, attrs, 1)) {
      throw new ShapeError(`conv2dWeightGrad: output gradient ${formatShape(gy!.shape)} does not match input ${formatShape(x!.shape)} with kernel ${formatShape(attrs.kernel)}`);
    }
    return [{ shape: [cout!, cin! / attrs.groups, kh, kw], dtype: x!.dtype }];
  },
  lower: (emit, [x, gy], [dw], attrs, node) => {
    const [n, cin, h, wd] = node.inputs[0]!.shape as number[];
    const [, cout, ho, wo] = node.inputs[1]!.shape as number[];
    const { kernel: [kh, kw], stride, padding, dilation, groups } = attrs;
    if (groups === 1 && node.inputs[0]!.dtype === 'float32' && emit.nchwcBlock > 0) {
      emitNchwcConvWeightGrad(emit, x!, gy!, dw!, { batch: n!, inChannels: cin!, outChannels: cout!, kernel: attrs.kernel, stride, padding, dilation, inSize: [h!, wd!], outSize: [ho!, wo!] });
      return;
    }
    const padded = emit.temp('padded');
    emit.node('Pad', [x!, emit.int64s([0, 0, padding[0], padding[1], 0, 0, padding[0], padding[1]])], [padded], { mode: 'constant' });
    const positions = ho! * wo!;
    const gyRows = emit.temp('gradRows');
    emit.node('Reshape', [gy!, emit.int64s([n!, groups, cout! / groups, positions])], [gyRows]);
    const perOffset: string[] = [];
    for (let p = 0; p < kh; p++) {
      for (let q = 0; q < kw; q++) {
        const [window, rows, columns, products, summed, part] = ['window', 'windowRows', 'windowColumns', 'products', 'summed', 'offset'].map((hint) => emit.temp(hint)) as [string, string, string, string, string, string];
        const top = p * dilation[0];
        const left = q * dilation[1];
        emit.node('Slice', [padded, emit.int64s([top, left]), emit.int64s([top + stride[0] * (ho! - 1) + 1, left + stride[1] * (wo! - 1) + 1]), emit.int64s([2, 3]), emit.int64s([stride[0], stride[1]])], [window]);
        emit.node('Reshape', [window, emit.int64s([n!, groups, cin! / groups, positions])], [rows]);
        emit.node('Transpose', [rows], [columns], { perm: [0, 1, 3, 2] });
        emit.node('MatMul', [gyRows, columns], [products]);
        emit.node('ReduceSum', [products, emit.int64s([0])], [summed], { keepdims: 0 });
        emit.node('Reshape', [summed, emit.int64s([cout!, cin! / groups, 1])], [part]);
        perOffset.push(part);
      }
    }
    const stacked = emit.temp('stacked');
    emit.node('Concat', perOffset, [stacked], { axis: 2 });
    emit.node('Reshape', [stacked, emit.int64s([cout!, cin! / groups, kh, kw])], [dw!]);
  },
  // dW is bilinear in x and gy: its adjoint in x is the convolution's input gradient with the
  // incoming gradient as the kernel, and in gy the convolution of x with it.
  vjp: ([g], { inputs: [x, gy], attrs: { stride, padding, dilation, groups } }) => {
    const conv: ConvAttrs = { stride, padding, dilation, groups };
    return [convInputGrad(gy!, g!, x!.shape, conv), apply1(conv2dOp, [x!, g!], conv)];
  },
  flops: ({ inputs: [x, gy], attrs }) => 2 * gy!.size * (x!.shape[1]! / attrs.groups) * attrs.kernel[0] * attrs.kernel[1],
};

const convTranspose2dOp: OpDef<ConvTransposeAttrs> = {
  name: 'convTranspose2d',
  infer: ([x, w, b], attrs) => {
    const problem = (why: string): ShapeError => new ShapeError(`convTranspose2d: ${why} (input ${formatShape(x!.shape)}, weight ${formatShape(w!.shape)}, groups ${attrs.groups})`);
    if (x!.rank !== 4 || w!.rank !== 4) throw problem('input and weight must be 4-D (NCHW and [in, out/groups, kh, kw])');
    const [n, c, h, wd] = x!.shape as number[];
    const [cin, coutPerGroup, kh, kw] = w!.shape as number[];
    if (c !== cin) throw problem(`input has ${c} channels but the weight expects ${cin}`);
    if (c! % attrs.groups !== 0) throw problem('channels are not divisible by groups');
    // Below the stride, not max(stride, dilation) as PyTorch allows: ONNX Runtime's ConvTranspose
    // rejects larger output padding at run time, and the gradient (a strided conv) could not undo it.
    if (attrs.outputPadding.some((p, i) => !Number.isInteger(p) || p < 0 || p >= attrs.stride[i]!)) throw problem(`output padding ${formatShape(attrs.outputPadding)} must be below the stride ${formatShape(attrs.stride)}`);
    checkBias('convTranspose2d', b, coutPerGroup! * attrs.groups);
    const size = (s: number, k: number, axis: 0 | 1): number => (s - 1) * attrs.stride[axis] + attrs.dilation[axis] * (k - 1) + 1 - 2 * attrs.padding[axis] + attrs.outputPadding[axis];
    return [{ shape: [n!, coutPerGroup! * attrs.groups, size(h!, kh!, 0), size(wd!, kw!, 1)], dtype: x!.dtype }];
  },
  // At stride 1 it is a convolution with the adjoint kernel (in and out channels swapped, flipped
  // in space), which runs faster than ConvTranspose (docs/results/engine.md): on the NCHWc kernels
  // the adjoint is folded into the filter's reordering.
  lower: (emit, inputs, outputs, attrs, node) => {
    const [x, w] = node.inputs as [Tensor, Tensor];
    const [n, cin] = x.shape as number[];
    const [, coutPerGroup, kh, kw] = w.shape as number[];
    const padding: Pair = [attrs.dilation[0] * (kh! - 1) - attrs.padding[0], attrs.dilation[1] * (kw! - 1) - attrs.padding[1]];
    if (attrs.stride[0] === 1 && attrs.stride[1] === 1 && padding[0] >= 0 && padding[1] >= 0) {
      const spec: NchwcConvSpec = { batch: n!, inChannels: cin!, outChannels: coutPerGroup! * attrs.groups, kernel: [kh!, kw!], stride: [1, 1], padding, dilation: attrs.dilation };
      if (attrs.groups === 1 && x.dtype === 'float32' && nchwcFits(emit, cin!)) {
        emitNchwcConv(emit, inputs[0]!, inputs[1]!, inputs[2], outputs[0]!, spec, true);
      } else {
        emitConv(emit, [inputs[0], emitAdjointKernel(emit, inputs[1]!, w.shape, attrs.groups), inputs[2]], outputs[0]!, spec, attrs.groups, x.dtype);
      }
      return;
    }
    emit.node('ConvTranspose', inputs, outputs, { ...onnxConvAttrs(attrs), kernel_shape: node.inputs[1]!.shape.slice(2), output_padding: attrs.outputPadding });
  },
  vjp: ([g], { inputs: [x, w, b], attrs }) => {
    const dx = apply1(conv2dOp, [g!, w!], { stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation, groups: attrs.groups });
    // A transposed convolution is the adjoint of a convolution from its output space to its input space.
    const dw = apply1(conv2dWeightGradOp, [g!, x!], { stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation, groups: attrs.groups, kernel: [w!.shape[2]!, w!.shape[3]!] });
    return b ? [dx, dw, sum(g!, [0, 2, 3])] : [dx, dw];
  },
  flops: ({ inputs: [x, w] }) => 2 * x!.size * (w!.shape[1]! * w!.shape[2]! * w!.shape[3]!),
};

export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, options: ConvOptions = {}): Tensor {
  return apply1(conv2dOp, bias ? [x, weight, bias] : [x, weight], convAttrs(options));
}

export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor, options: ConvOptions & { outputPadding?: number | Pair } = {}): Tensor {
  return apply1(convTranspose2dOp, bias ? [x, weight, bias] : [x, weight], { ...convAttrs(options), outputPadding: pair(options.outputPadding, 0) });
}

interface PoolAttrs extends Attrs {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
}
const avgPool2dOp: OpDef<PoolAttrs> = {
  name: 'avgPool2d',
  infer: ([x], { kernel, stride, padding }) => {
    if (x!.rank !== 4) throw new ShapeError(`avgPool2d: input must be NCHW, got ${formatShape(x!.shape)}`);
    const out = (s: number, axis: 0 | 1): number => Math.floor((s + 2 * padding[axis] - kernel[axis]) / stride[axis]) + 1;
    const [n, c, h, w] = x!.shape as number[];
    if (out(h!, 0) < 1 || out(w!, 1) < 1) throw new ShapeError(`avgPool2d: kernel ${formatShape(kernel)} does not fit input ${formatShape(x!.shape)}`);
    return [{ shape: [n!, c!, out(h!, 0), out(w!, 1)], dtype: x!.dtype }];
  },
  lower: (emit, [x], [y], { kernel, stride, padding }) =>
    emit.node('AveragePool', [x!], [y!], { kernel_shape: kernel, strides: stride, pads: [padding[0], padding[1], padding[0], padding[1]], count_include_pad: 1 }),
  // Padding counts toward the window (count_include_pad), so the adjoint is a depthwise transposed
  // convolution with a constant kernel of 1/(kh*kw).
  vjp: ([g], { inputs: [x], attrs: { kernel, stride, padding } }) => {
    const c = x!.shape[1]!;
    const weight = div(fill(x!.graph, [c, 1, kernel[0], kernel[1]], 1, x!.dtype), kernel[0] * kernel[1]);
    const outputPadding: Pair = [0, 1].map((a) => x!.shape[2 + a]! - ((g!.shape[2 + a]! - 1) * stride[a]! + kernel[a]! - 2 * padding[a]!)) as Pair;
    return [apply1(convTranspose2dOp, [g!, weight], { stride, padding, dilation: [1, 1], groups: c, outputPadding })];
  },
  flops: ({ outputs: [y], attrs: { kernel } }) => y!.size * kernel[0] * kernel[1],
};
export function avgPool2d(x: Tensor, kernel: number | Pair, options: { stride?: number | Pair; padding?: number | Pair } = {}): Tensor {
  const k = pair(kernel, 1);
  return apply1(avgPool2dOp, [x], { kernel: k, stride: options.stride === undefined ? k : pair(options.stride, 1), padding: pair(options.padding, 0) });
}

interface UpsampleAttrs extends Attrs {
  scale: number;
}
const upsampleNearest2dOp: OpDef<UpsampleAttrs> = {
  name: 'upsampleNearest2d',
  infer: ([x], { scale }) => {
    if (x!.rank !== 4) throw new ShapeError(`upsampleNearest2d: input must be NCHW, got ${formatShape(x!.shape)}`);
    if (!Number.isInteger(scale) || scale < 1) throw new ShapeError(`upsampleNearest2d: scale must be a positive integer, got ${scale}`);
    const [n, c, h, w] = x!.shape as number[];
    return [{ shape: [n!, c!, h! * scale, w! * scale], dtype: x!.dtype }];
  },
  lower: (emit, [x], [y], { scale }) => {
    const scales = emit.constant({ dtype: 'float32', shape: [4], data: Float32Array.of(1, 1, scale, scale) });
    emit.node('Resize', [x!, '', scales], [y!], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  },
  // The gradient sums each scale x scale block: an average pool times its area, which ran faster
  // than a reduction over the two interleaved block axes (docs/results/engine.md).
  vjp: ([g], { attrs: { scale } }) => [mul(avgPool2d(g!, scale), scale * scale)],
};
export function upsampleNearest2d(x: Tensor, scale = 2): Tensor {
  return apply1(upsampleNearest2dOp, [x], { scale });
}

