// Ops that move data without arithmetic: reshape, transpose, concat, split, slice, pad, broadcast.

import { sameShape, type DType, type HostTensor, hostTensor, numel } from '../host-tensor.js';
import { type Attrs, type Graph, type OpDef, type Tensor, ShapeError, apply1, formatShape } from '../graph.js';
import { broadcastShapes, normalizeAxis } from './broadcast.js';
import { unbroadcast } from './elementwise.js';

interface ReshapeAttrs extends Attrs {
  shape: number[];
}
const reshapeOp: OpDef<ReshapeAttrs> = {
  name: 'reshape',
  infer: ([x], { shape }) => [{ shape: [...shape], dtype: x!.dtype }],
  lower: (emit, [x], [y], { shape }) => emit.node('Reshape', [x!, emit.int64s(shape)], [y!]),
  vjp: ([g], { inputs: [x] }) => [reshape(g!, x!.shape)],
};

/** Reshape; one dimension may be -1 and is inferred. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const resolved = [...shape];
  const inferred = resolved.indexOf(-1);
  if (inferred >= 0) {
    const known = numel(resolved.filter((_, i) => i !== inferred));
    if (known === 0 || x.size % known !== 0) throw new ShapeError(`reshape: cannot reshape ${formatShape(x.shape)} to ${formatShape(shape)}`);
    resolved[inferred] = x.size / known;
  }
  if (numel(resolved) !== x.size || resolved.some((d) => d < 0 || !Number.isInteger(d))) {
    throw new ShapeError(`reshape: cannot reshape ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)}`);
  }
  if (sameShape(resolved, x.shape)) return x;
  return apply1(reshapeOp, [x], { shape: resolved });
}

export const flatten = (x: Tensor, fromAxis = 1): Tensor => reshape(x, [...x.shape.slice(0, fromAxis), -1]);
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis('unsqueeze', axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}
export function squeeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis('squeeze', axis, x.rank);
  if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${axis} of ${formatShape(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(x, [...x.shape.slice(0, a), ...x.shape.slice(a + 1)]);
}

interface TransposeAttrs extends Attrs {
  perm: number[];
}
const transposeOp: OpDef<TransposeAttrs> = {
  name: 'transpose',
  infer: ([x], { perm }) => {
    const sorted = [...perm].sort((a, b) => a - b);
    if (perm.length !== x!.rank || sorted.some((p, i) => p !== i)) {
      throw new ShapeError(`transpose: perm [${perm.join(', ')}] is not a permutation of the axes of ${formatShape(x!.shape)}`);
    }
    return [{ shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype }];
  },
  lower: (emit, [x], [y], { perm }) => emit.node('Transpose', [x!], [y!], { perm }),
  vjp: ([g], { attrs: { perm } }) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [transpose(g!, inverse)];
  },
};
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ? perm.map((a) => normalizeAxis('transpose', a, x.rank)) : Array.from({ length: x.rank }, (_, i) => x.rank - 1 - i);
  if (p.every((a, i) => a === i)) return x;
  return apply1(transposeOp, [x], { perm: p });
}
/** Swaps the last two axes. */
export function transposeLast2(x: Tensor): Tensor {
  const perm = Array.from({ length: x.rank }, (_, i) => i);
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return transpose(x, perm);
}

interface AxisAttrs extends Attrs {
  axis: number;
}
const concatOp: OpDef<AxisAttrs> = {
  name: 'concat',
  infer: (xs, { axis }) => {
    const first = xs[0]!;
    for (const x of xs) {
      const same = x.rank === first.rank && x.dtype === first.dtype && x.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!same) throw new ShapeError(`concat: along axis ${axis}, shapes ${xs.map((t) => `${t.dtype}${formatShape(t.shape)}`).join(', ')} do not match`);
    }
    const shape = [...first.shape];
    shape[axis] = xs.reduce((n, x) => n + x.shape[axis]!, 0);
    return [{ shape, dtype: first.dtype }];
  },
  lower: (emit, inputs, outputs, { axis }) => emit.node('Concat', inputs, outputs, { axis }),
  vjp: ([g], { inputs, attrs: { axis } }) => split(g!, inputs.map((x) => x.shape[axis]!), axis),
};
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: needs at least one tensor');
  if (xs.length === 1) return xs[0]!;
  return apply1(concatOp, [...xs], { axis: normalizeAxis('concat', axis, xs[0]!.rank) });
}

interface SplitAttrs extends Attrs {
  sizes: number[];
  axis: number;
}
const splitOp: OpDef<SplitAttrs> = {
  name: 'split',
  infer: ([x], { sizes, axis }) => {
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== x!.shape[axis] || sizes.some((s) => s <= 0)) {
      throw new ShapeError(`split: sizes [${sizes.join(', ')}] do not add up to axis ${axis} of ${formatShape(x!.shape)}`);
    }
    return sizes.map((s) => {
      const shape = [...x!.shape];
      shape[axis] = s;
      return { shape, dtype: x!.dtype };
    });
  },
  lower: (emit, [x], outputs, { sizes, axis }) => emit.node('Split', [x!, emit.int64s(sizes)], outputs, { axis }),
  vjp: (grads, { outputs, attrs: { axis } }) => [concat(grads.map((g, i) => g ?? zerosLike(outputs[i]!)), axis)],
};
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const a = normalizeAxis('split', axis, x.rank);
  if (sizes.length === 1 && sizes[0] === x.shape[a]) return [x]; // otherwise infer reports the mismatch
  return x.graph.apply(splitOp, [x], { sizes: [...sizes], axis: a });
}
/** Splits into `parts` equal chunks. */
export function chunk(x: Tensor, parts: number, axis: number): Tensor[] {
  const a = normalizeAxis('chunk', axis, x.rank);
  if (x.shape[a]! % parts !== 0) throw new ShapeError(`chunk: axis ${axis} of ${formatShape(x.shape)} does not divide into ${parts} parts`);
  return split(x, new Array(parts).fill(x.shape[a]! / parts), a);
}

interface SliceAttrs extends Attrs {
  starts: number[];
  ends: number[];
  steps: number[];
}
const sliceOp: OpDef<SliceAttrs> = {
  name: 'slice',
  infer: ([x], { starts, ends, steps }) => [
    { shape: x!.shape.map((_, i) => Math.ceil((ends[i]! - starts[i]!) / steps[i]!)), dtype: x!.dtype },
  ],
  lower: (emit, [x], [y], { starts, ends, steps }, node) => {
    const axes = starts.map((_, i) => i);
    const used = axes.filter((i) => starts[i] !== 0 || ends[i] !== node.inputs[0]!.shape[i] || steps[i] !== 1);
    emit.node('Slice', [x!, emit.int64s(used.map((i) => starts[i]!)), emit.int64s(used.map((i) => ends[i]!)), emit.int64s(used), emit.int64s(used.map((i) => steps[i]!))], [y!]);
  },
  vjp: ([g], { inputs: [x], attrs: { starts, steps } }) => [sliceAdjoint(g!, x!.shape, starts, steps)],
};

/** Scatters a slice's gradient back into zeros of the input shape. */
function sliceAdjoint(g: Tensor, inputShape: readonly number[], starts: number[], steps: number[]): Tensor {
  let out = g;
  for (let axis = 0; axis < inputShape.length; axis++) {
    const step = steps[axis]!;
    if (step > 1) {
      // Interleave step-1 zeros after each element: [.., n, ..] -> [.., n, step, ..] -> [.., n*step, ..].
      const shape = [...out.shape];
      const withSlot = [...shape.slice(0, axis + 1), 1, ...shape.slice(axis + 1)];
      const padded = pad(reshape(out, withSlot), withSlot.map((_, i) => (i === axis + 1 ? [0, step - 1] : [0, 0])));
      out = reshape(padded, [...shape.slice(0, axis), shape[axis]! * step, ...shape.slice(axis + 1)]);
    }
    const before = starts[axis]!;
    const after = inputShape[axis]! - before - out.shape[axis]!;
    if (before !== 0 || after !== 0) {
      out = after >= 0
        ? pad(out, out.shape.map((_, i) => (i === axis ? [before, after] : [0, 0])))
        : slice(pad(out, out.shape.map((_, i) => (i === axis ? [before, 0] : [0, 0]))), { [axis]: [0, inputShape[axis]!] });
    }
  }
  return out;
}

/** Slices with python-like [start, end, step] per axis (positive steps; negative start/end count from the end). */
export function slice(x: Tensor, ranges: Record<number, [number, number?, number?]>): Tensor {
  const starts = x.shape.map(() => 0);
  const ends = [...x.shape];
  const steps = x.shape.map(() => 1);
  for (const [axisKey, [start, end, step = 1]] of Object.entries(ranges)) {
    const axis = normalizeAxis('slice', Number(axisKey), x.rank);
    const size = x.shape[axis]!;
    const clampIndex = (i: number): number => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
    if (!Number.isInteger(step) || step < 1) throw new ShapeError(`slice: step must be a positive integer, got ${step}`);
    starts[axis] = clampIndex(start);
    ends[axis] = Math.max(clampIndex(end ?? size), starts[axis]!);
    steps[axis] = step;
    if (ends[axis] === starts[axis]) throw new ShapeError(`slice: range [${start}, ${end}) of axis ${axis} of ${formatShape(x.shape)} is empty`);
  }
  if (starts.every((s, i) => s === 0 && ends[i] === x.shape[i] && steps[i] === 1)) return x;
  return apply1(sliceOp, [x], { starts, ends, steps });
}

interface PadAttrs extends Attrs {
  pads: [number, number][];
  value: number;
}
const padOp: OpDef<PadAttrs> = {
  name: 'pad',
  infer: ([x], { pads }) => {
    if (pads.length !== x!.rank || pads.some(([a, b]) => a < 0 || b < 0)) {
      throw new ShapeError(`pad: pads ${JSON.stringify(pads)} do not fit ${formatShape(x!.shape)} (one non-negative [before, after] per axis)`);
    }
    return [{ shape: x!.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]), dtype: x!.dtype }];
  },
  lower: (emit, [x], [y], { pads, value }, node) => {
    const flat = [...pads.map((p) => p[0]), ...pads.map((p) => p[1])];
    const inputs = [x!, emit.int64s(flat)];
    if (value !== 0) inputs.push(emit.constant(scalarHost(node.inputs[0]!.dtype, value)));
    emit.node('Pad', inputs, [y!], { mode: 'constant' });
  },
  vjp: ([g], { inputs: [x], attrs: { pads } }) => [
    slice(g!, Object.fromEntries(pads.map(([before], i) => [i, [before, before + x!.shape[i]!]]))),
  ],
};
/** Constant padding: one [before, after] pair per axis. */
export function pad(x: Tensor, pads: readonly (readonly [number, number] | number[])[], value = 0): Tensor {
  const p = pads.map((pair) => [pair[0]!, pair[1]!] as [number, number]);
  if (p.every(([a, b]) => a === 0 && b === 0) && p.length === x.rank) return x;
  return apply1(padOp, [x], { pads: p, value });
}

interface ExpandAttrs extends Attrs {
  shape: number[];
}
const expandOp: OpDef<ExpandAttrs> = {
  name: 'broadcastTo',
  infer: ([x], { shape }) => {
    const out = broadcastShapes('broadcastTo', [x!.shape, shape]);
    if (!sameShape(out, shape)) throw new ShapeError(`broadcastTo: cannot broadcast ${formatShape(x!.shape)} to ${formatShape(shape)}`);
    return [{ shape: out, dtype: x!.dtype }];
  },
  lower: (emit, [x], [y], { shape }) => emit.node('Expand', [x!, emit.int64s(shape)], [y!]),
  vjp: ([g], { inputs: [x] }) => [unbroadcast(g!, x!.shape)],
};
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  return apply1(expandOp, [x], { shape: [...shape] });
}

export function scalarHost(dtype: DType, value: number): HostTensor {
  const t = hostTensor(dtype, []);
  if (dtype === 'int64') (t.data as BigInt64Array)[0] = BigInt(value);
  else (t.data as Float32Array)[0] = value;
  return t;
}

interface FillAttrs extends Attrs {
  shape: number[];
  value: number;
  dtype: DType;
}
const fillOp: OpDef<FillAttrs> = {
  name: 'fill',
  infer: (_, { shape, dtype }) => [{ shape: [...shape], dtype }],
  lower: (emit, _, [y], { shape, value, dtype }) => emit.node('ConstantOfShape', [emit.int64s(shape)], [y!], { value: { ...scalarHost(dtype, value), shape: [1] } }),
};
/** A tensor of one repeated value, made at run time rather than stored in the model. */
export function fill(graph: Graph, shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  return graph.apply(fillOp, [], { shape: [...shape], value, dtype })[0]!;
}
export const zerosLike = (x: Tensor): Tensor => fill(x.graph, x.shape, 0, x.dtype);
