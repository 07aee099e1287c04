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
    lower: (emit, [x], [y], { axes, keepdims }, node) => {
      const reduce = (input: string, over: number[], keep: boolean, output: string): void => {
        if (onnx === 'ReduceSum') emit.node(onnx, [input, emit.int64s(over)], [output], { keepdims: keep ? 1 : 0 });
        else emit.node(onnx, [input], [output], { axes: over, keepdims: keep ? 1 : 0 });
      };
      // Over the trailing axes and others too (a conv's bias gradient: batch, height and width), the
      // contiguous trailing axes are reduced first, then the rest of the now small tensor: ONNX
      // Runtime ran that 2.5x faster than one reduction over both (docs/results/engine.md).
      let run = node.inputs[0]!.rank;
      while (run > 0 && axes.includes(run - 1)) run--;
      const trailing = axes.filter((a) => a >= run);
      if (trailing.length === 0 || trailing.length === axes.length) {
        reduce(x!, axes, keepdims, y!);
        return;
      }
      const partial = emit.temp('rowsReduced');
      reduce(x!, trailing, true, partial);
      reduce(partial, axes, keepdims, y!);
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
