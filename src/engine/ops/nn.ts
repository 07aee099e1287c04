// Neural-network building blocks: softmax, normalisation, embeddings and attention.

import { type Attrs, type Emitter, type OpDef, type Tensor, ShapeError, apply1, formatShape } from '../graph.js';
import { normalizeAxis } from './broadcast.js';
import { add, div, mul, neg, sub } from './elementwise.js';
import { matmul } from './linalg.js';
import { mean, sum } from './reduce.js';
import { reshape, scalarHost, transposeLast2 } from './shape.js';

interface AxisAttrs extends Attrs {
  axis: number;
}
const softmaxOp: OpDef<AxisAttrs> = {
  name: 'softmax',
  infer: ([x]) => [{ shape: [...x!.shape], dtype: x!.dtype }],
  lower: (emit, [x], [y], { axis }) => emit.node('Softmax', [x!], [y!], { axis }),
  vjp: ([g], { outputs: [y], attrs: { axis } }) => [mul(y!, sub(g!, sum(mul(g!, y!), axis, true)))],
  flops: ({ outputs: [y] }) => 3 * y!.size,
};
export function softmax(x: Tensor, axis = -1): Tensor {
  return apply1(softmaxOp, [x], { axis: normalizeAxis('softmax', axis, x.rank) });
}

/** LayerNormalization without affine over the last axis of x (`width` values of `dtype`): y, and 1/std into invStd. */
function emitStandardize(emit: Emitter, x: string, y: string, invStd: string, eps: number, dtype: Tensor['dtype'], width: number): void {
  // The scale must have the input's dtype (LayerNormalization binds X and Scale to one type).
  const ones = emit.constant(dtype === 'float64' ? { dtype, shape: [width], data: new Float64Array(width).fill(1) } : { dtype: 'float32', shape: [width], data: new Float32Array(width).fill(1) });
  if (dtype === 'float64') {
    // The 1/std output has the stash type, float32 by default: cast it to the traced dtype.
    const stashed = emit.temp('invStd');
    emit.node('LayerNormalization', [x, ones], [y, emit.temp('mean'), stashed], { axis: -1, epsilon: eps });
    emit.node('Cast', [stashed], [invStd], { to: 11 });
    return;
  }
  emit.node('LayerNormalization', [x, ones], [y, emit.temp('mean'), invStd], { axis: -1, epsilon: eps });
}

interface EpsAttrs extends Attrs {
  eps: number;
}
// Standardises over the last axis. Also returns 1/std so the gradient needs no second pass over x.
const standardizeOp: OpDef<EpsAttrs> = {
  name: 'standardize',
  infer: ([x]) => {
    if (x!.rank < 1) throw new ShapeError('standardize: needs at least one axis');
    return [
      { shape: [...x!.shape], dtype: x!.dtype },
      { shape: [...x!.shape.slice(0, -1), 1], dtype: x!.dtype },
    ];
  },
  lower: (emit, [x], [y, invStd], { eps }, node) => emitStandardize(emit, x!, y!, invStd!, eps, node.inputs[0]!.dtype, node.inputs[0]!.shape.at(-1)!),
  // dx = (g - mean(g) - y * mean(g * y)) / std
  vjp: ([g], { outputs: [y, invStd] }) => {
    if (!g) return [null];
    return [mul(invStd!, sub(sub(g, mean(g, -1, true)), mul(y!, mean(mul(g, y!), -1, true))))];
  },
  flops: ({ outputs: [y] }) => 5 * y!.size,
};
/** (x - mean) / sqrt(var + eps) over the last axis. */
export function standardize(x: Tensor, eps = 1e-5): Tensor {
  return x.graph.apply(standardizeOp, [x], { eps })[0]!;
}

interface GroupNormAttrs extends Attrs {
  groups: number;
  eps: number;
}
/**
 * Group normalisation with its per-channel affine transform as one op: [x, weight, bias] ->
 * [y * weight + bias, y, 1/std] with y the normalised x. Its gradient takes the per-channel sums
 * of g and g*y over the positions once, for the weight and bias gradients and, weighted by the
 * weight, for the two group means of the normalisation's gradient, so that the input gradient is
 * dx = A g + C y + B with per-channel A and per-group B, C: seven passes over the tensor where the
 * chain of separate ops made eleven.
 */
const groupNormOp: OpDef<GroupNormAttrs> = {
  name: 'groupNorm',
  infer: ([x, w, b], { groups }) => {
    const [n, c] = x!.shape as number[];
    if (x!.rank < 2 || c! % groups !== 0) throw new ShapeError(`groupNorm: ${c} channels of ${formatShape(x!.shape)} do not divide into ${groups} groups`);
    for (const [what, t] of [['weight', w], ['bias', b]] as const) {
      if (t!.rank !== 1 || t!.shape[0] !== c) throw new ShapeError(`groupNorm: ${what} ${formatShape(t!.shape)} should be [${c}]`);
    }
    return [
      { shape: [...x!.shape], dtype: x!.dtype },
      { shape: [...x!.shape], dtype: x!.dtype },
      { shape: [n!, groups, 1], dtype: x!.dtype },
    ];
  },
  lower: (emit, [x, w, b], [out, y, invStd], { groups, eps }, node) => {
    const like = node.inputs[0]!;
    const [n, c] = like.shape as number[];
    const channelShape = [1, c!, ...like.shape.slice(2).map(() => 1)];
    const [rows, normalized, scaled, weight, bias] = ['groupRows', 'normalizedRows', 'scaled', 'weight', 'bias'].map((hint) => emit.temp(hint)) as [string, string, string, string, string];
    emit.node('Reshape', [x!, emit.int64s([n!, groups, -1])], [rows]);
    emitStandardize(emit, rows, normalized, invStd!, eps, like.dtype, like.size / (n! * groups));
    emit.node('Reshape', [normalized, emit.int64s(like.shape)], [y!]);
    emit.node('Reshape', [w!, emit.int64s(channelShape)], [weight]);
    emit.node('Reshape', [b!, emit.int64s(channelShape)], [bias]);
    emit.node('Mul', [y!, weight], [scaled]);
    emit.node('Add', [scaled, bias], [out!]);
  },
  vjp: ([g], { inputs: [x, w], outputs: [, y, invStd], attrs: { groups } }) => {
    if (!g) return [null, null, null];
    const [n, c] = x!.shape as number[];
    const perGroup = c! / groups;
    const count = x!.size / (n! * groups); // values in one group of one sample
    const rows = (t: Tensor): Tensor => reshape(t, [n!, c!, -1]);
    const channelSums = sum(rows(g), -1); // [N, C]
    const channelMoments = sum(mul(rows(g), rows(y!)), -1); // [N, C]
    // Means over a group of w * g and w * g * y: the normalisation's gradient, in group layout.
    const groupMean = (perChannel: Tensor): Tensor => div(sum(reshape(mul(perChannel, w!), [n!, groups, perGroup]), -1, true), count); // [N, G, 1]
    const scale = mul(invStd!, reshape(w!, [1, groups, perGroup])); // A: [N, G, cpg]
    const grouped = (t: Tensor): Tensor => reshape(t, [n!, groups, perGroup, -1]);
    const byGroup = (t: Tensor): Tensor => reshape(t, [n!, groups, 1, 1]);
    const dx = add(add(mul(grouped(g), reshape(scale, [n!, groups, perGroup, 1])), mul(grouped(y!), byGroup(neg(mul(invStd!, groupMean(channelMoments)))))), byGroup(neg(mul(invStd!, groupMean(channelSums)))));
    return [reshape(dx, x!.shape), sum(channelMoments, 0), sum(channelSums, 0)];
  },
  flops: ({ outputs: [out] }) => 7 * out!.size,
};

/** Group normalisation of NC... tensors with a per-channel affine transform. */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const [n, c] = x.shape as number[];
  if (x.rank < 2 || c! % groups !== 0) throw new ShapeError(`groupNorm: ${c} channels of ${formatShape(x.shape)} do not divide into ${groups} groups`);
  if (weight && bias) return x.graph.apply(groupNormOp, [x, weight, bias], { groups, eps })[0]!;
  const normalized = reshape(standardize(reshape(x, [n!, groups, -1]), eps), x.shape);
  const channelShape = [1, c!, ...x.shape.slice(2).map(() => 1)];
  const scaled = weight ? mul(normalized, reshape(weight, channelShape)) : normalized;
  return bias ? add(scaled, reshape(bias, channelShape)) : scaled;
}

/** Layer normalisation over the last axis. */
export function layerNorm(x: Tensor, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const normalized = standardize(x, eps);
  const scaled = weight ? mul(normalized, weight) : normalized;
  return bias ? add(scaled, bias) : scaled;
}

const gatherRowsOp: OpDef = {
  name: 'embedding',
  infer: ([table, indices]) => {
    if (table!.rank !== 2) throw new ShapeError(`embedding: table must be [rows, width], got ${formatShape(table!.shape)}`);
    if (indices!.dtype !== 'int64') throw new ShapeError(`embedding: indices must be int64, got ${indices!.dtype}`);
    return [{ shape: [...indices!.shape, table!.shape[1]!], dtype: table!.dtype }];
  },
  lower: (emit, inputs, outputs) => emit.node('Gather', inputs, outputs, { axis: 0 }),
  vjp: ([g], { inputs: [table, indices] }) => [apply1(scatterAddRowsOp, [indices!, g!], { rows: table!.shape[0]! }), null],
};

interface RowsAttrs extends Attrs {
  rows: number;
}
// Adds each update row into a zero table at its index; repeated indices accumulate.
const scatterAddRowsOp: OpDef<RowsAttrs> = {
  name: 'scatterAddRows',
  infer: ([indices, updates], { rows }) => [{ shape: [rows, updates!.shape.at(-1)!], dtype: updates!.dtype }],
  lower: (emit, [indices, updates], [y], { rows }, node) => {
    const width = node.inputs[1]!.shape.at(-1)!;
    const zeros = emit.temp('zeros');
    // Zeros of the updates' dtype: ScatterND binds data and updates to one type.
    emit.node('ConstantOfShape', [emit.int64s([rows, width])], [zeros], { value: { ...scalarHost(node.inputs[1]!.dtype, 0), shape: [1] } });
    const columnIndices = emit.temp('indices');
    emit.node('Unsqueeze', [indices!, emit.int64s([-1])], [columnIndices]);
    emit.node('ScatterND', [zeros, columnIndices, updates!], [y!], { reduction: 'add' });
  },
};
/** Looks up rows of `table` ([rows, width]) at int64 `indices`. */
export function embedding(table: Tensor, indices: Tensor): Tensor {
  return apply1(gatherRowsOp, [table, indices], {});
}

/**
 * softmax(q kᵀ / sqrt(d)) v over [..., tokens, width] tensors. Self-attention passes the same
 * sequence as q and k; cross-attention passes a context sequence as k and v.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  if (q.shape.at(-1) !== k.shape.at(-1) || k.shape.at(-2) !== v.shape.at(-2)) {
    throw new ShapeError(`attention: q ${formatShape(q.shape)}, k ${formatShape(k.shape)} and v ${formatShape(v.shape)} do not fit (q and k share a width; k and v share a length)`);
  }
  const scale = 1 / Math.sqrt(q.shape.at(-1)!);
  return matmul(softmax(matmul(mul(q, scale), transposeLast2(k))), v);
}
