// Reductions over axes. ONNX opset 17 takes ReduceSum's axes as an input and the others' as an attribute.

import { type Attrs, type OpDef, type Tensor, apply1 } from '../graph.js';
import { normalizeAxes } from './broadcast.js';
import { cast, div, equal, mul } from './elementwise.js';
import { broadcastTo, reshape } from './shape.js';

interface ReduceAttrs extends Attrs {
  axes: number[];
  keepdims: boolean;
}

function reducedShape(shape: readonly number[], axes: number[], keepdims: boolean): number[] {
  return keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** Brings a reduced gradient back to the input's shape. */
function expandBack(g: Tensor, x: Tensor, axes: number[]): Tensor {
  return broadcastTo(reshape(g, reducedShape(x.shape, axes, true)), x.shape);
}

function reduceOp(name: string, onnx: string, vjp: OpDef<ReduceAttrs>['vjp']): OpDef<ReduceAttrs> {
  return {
    name,
    infer: ([x], { axes, keepdims }) => [{ shape: reducedShape(x!.shape, axes, keepdims), dtype: x!.dtype }],
    lower: (emit, [x], [y], { axes, keepdims }) => {
      if (onnx === 'ReduceSum') emit.node(onnx, [x!, emit.int64s(axes)], [y!], { keepdims: keepdims ? 1 : 0 });
      else emit.node(onnx, [x!], [y!], { axes, keepdims: keepdims ? 1 : 0 });
    },
    vjp,
    flops: (node) => node.inputs[0]!.size,
  };
}

const sumOp = reduceOp('sum', 'ReduceSum', ([g], { inputs: [x], attrs: { axes } }) => [expandBack(g!, x!, axes)]);
const meanOp = reduceOp('mean', 'ReduceMean', ([g], { inputs: [x], attrs: { axes } }) => {
  const count = axes.reduce((n, a) => n * x!.shape[a]!, 1);
  return [expandBack(mul(g!, 1 / count), x!, axes)];
});
// Ties share the gradient equally, so the rule is symmetric in equal inputs.
const maxOp = reduceOp('max', 'ReduceMax', ([g], { inputs: [x], outputs: [y], attrs: { axes } }) => {
  const kept = reshape(y!, reducedShape(x!.shape, axes, true));
  const isMax = cast(equal(x!, kept), x!.dtype);
  const share = div(isMax, sum(isMax, axes, true));
  return [mul(expandBack(g!, x!, axes), share)];
});

function reduce(op: OpDef<ReduceAttrs>, x: Tensor, axes: number | readonly number[] | undefined, keepdims: boolean): Tensor {
  const normalized = normalizeAxes(op.name, axes, x.rank);
  if (normalized.length === 0) return x;
  return apply1(op, [x], { axes: normalized, keepdims });
}

export const sum = (x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor => reduce(sumOp, x, axes, keepdims);
export const mean = (x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor => reduce(meanOp, x, axes, keepdims);
export const max = (x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor => reduce(maxOp, x, axes, keepdims);
