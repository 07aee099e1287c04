// FLOPs of an imported graph's nodes, from the probed shapes, counted as hasten's own ops count
// theirs (2 per multiply-add for convolutions and matrix products, one per element for pointwise
// arithmetic, a few per element for normalisations), so imported and native models compare.

import type { OnnxNode } from '../engine/onnx/codec.js';
import { numel } from '../engine/host-tensor.js';
import type { GraphIndex } from './graph-index.js';
import type { Shapes } from './probe.js';

const POINTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sqrt', 'Exp', 'Log', 'Erf', 'Tanh', 'Sigmoid', 'Relu', 'LeakyRelu', 'Gelu', 'Sin', 'Cos', 'Neg', 'Abs', 'Reciprocal', 'Where', 'Max', 'Min', 'Clip', 'Mish', 'Softplus', 'HardSigmoid']);
const NORMALISATIONS = new Set(['InstanceNormalization', 'LayerNormalization', 'GroupNormalization', 'BatchNormalization']);
const REDUCTIONS = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceL2', 'ReduceSumSquare']);

export function nodeFlops(node: OnnxNode, shapes: Shapes): number {
  const out = shapes.get(node.outputs[0] ?? '');
  const first = shapes.get(node.inputs[0] ?? '');
  const weight = shapes.get(node.inputs[1] ?? '');
  if (!out) return 0;
  const size = numel(out);
  switch (node.opType) {
    case 'Conv': return weight ? 2 * size * numel(weight.slice(1)) : 0;
    case 'ConvTranspose': return weight && first ? 2 * numel(first) * numel(weight.slice(1)) : 0;
    case 'MatMul': return first ? 2 * size * first.at(-1)! : 0;
    case 'Gemm': return first ? 2 * size * (node.attributes.transA ? first[0]! : first[1]!) : 0;
    case 'Softmax': return 3 * size;
    default:
      if (POINTWISE.has(node.opType)) return size;
      if (NORMALISATIONS.has(node.opType)) return 5 * size;
      if (REDUCTIONS.has(node.opType)) return first ? numel(first) : 0;
      return 0;
  }
}

/** FLOPs of the nodes at `nodes` (indices into the graph). */
export function flopsOf(index: GraphIndex, nodes: readonly number[], shapes: Shapes): number {
  return nodes.reduce((sum, i) => sum + nodeFlops(index.node(i), shapes), 0);
}
