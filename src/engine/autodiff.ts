// Reverse-mode differentiation on the traced graph: the gradient is built as more graph, one
// vector-Jacobian rule per op, so forward and backward compile into one ONNX model.

import { type Tensor, ShapeError, formatShape } from './graph.js';
import { add } from './ops/elementwise.js';
import { fill, zerosLike } from './ops/shape.js';
import { sameShape } from './host-tensor.js';

/**
 * Gradients of a scalar `output` with respect to each tensor of `wrt` (parameters or inputs).
 * Tensors that `output` does not depend on get zero gradients.
 */
export function grad(output: Tensor, wrt: readonly Tensor[]): Tensor[] {
  if (output.size !== 1) throw new ShapeError(`grad: the output must be a scalar, got shape ${formatShape(output.shape)}`);
  const graph = output.graph;
  const wanted = new Set(wrt.map((t) => t.id));
  const dependsOnWrt = new Set<number>(wanted);
  const nodes = graph.nodes.slice(0, output.node ? output.node.id + 1 : 0);
  for (const node of nodes) {
    if (node.inputs.some((t) => dependsOnWrt.has(t.id))) for (const out of node.outputs) dependsOnWrt.add(out.id);
  }

  const grads = new Map<number, Tensor>([[output.id, fill(graph, output.shape, 1, output.dtype)]]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    const outputGrads = node.outputs.map((t) => grads.get(t.id) ?? null);
    if (outputGrads.every((g) => g === null)) continue;
    if (!node.inputs.some((t) => dependsOnWrt.has(t.id))) continue;
    if (!node.op.vjp) throw new Error(`grad: op '${node.op.name}' (in '${node.scope || 'top level'}') has no gradient rule`);
    const inputGrads = graph.scope(`grad:${node.op.name}(${node.scope})`, () => node.op.vjp!(outputGrads, node));
    node.inputs.forEach((input, k) => {
      const g = inputGrads[k];
      if (!g || !dependsOnWrt.has(input.id)) return;
      if (!sameShape(g.shape, input.shape)) {
        throw new ShapeError(`grad: rule of '${node.op.name}' gave ${formatShape(g.shape)} for input ${k} of shape ${formatShape(input.shape)}`);
      }
      const previous = grads.get(input.id);
      grads.set(input.id, previous ? add(previous, g) : g);
    });
  }
  return wrt.map((t) => grads.get(t.id) ?? zerosLike(t));
}
