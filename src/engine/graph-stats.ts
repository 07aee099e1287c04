// Static accounting over a traced graph: what the backward pass keeps alive from the forward pass.

import { bytesPerElement } from './host-tensor.js';
import type { Graph, Tensor } from './graph.js';

/**
 * Bytes of forward-pass tensors that gradient nodes read: the activations a training step must keep
 * between its forward and backward halves. Nodes traced after `output` are the backward pass.
 */
export function savedForBackwardBytes(graph: Graph, output: Tensor): number {
  const boundary = output.node?.id ?? -1;
  const saved = new Map<number, Tensor>();
  for (const node of graph.nodes) {
    if (node.id <= boundary) continue;
    for (const input of node.inputs) {
      if (input.kind === 'op' && input.node!.id <= boundary) saved.set(input.id, input);
    }
  }
  let bytes = 0;
  for (const t of saved.values()) bytes += t.size * bytesPerElement(t.dtype);
  return bytes;
}
