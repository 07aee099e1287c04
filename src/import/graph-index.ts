// Who produces and who consumes each tensor of an ONNX graph, and the reachability questions graph
// surgery asks: which nodes an output needs (stopping at tensors that are given), and which tensors
// lie on the paths between two tensors.

import type { OnnxGraph, OnnxNode } from '../engine/onnx/codec.js';

/** Ops whose output depends on their input's shape only. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

export class GraphIndex {
  /** Index of the node producing each tensor (graph inputs and initializers have none). */
  readonly producer = new Map<string, number>();
  readonly consumers = new Map<string, number[]>();

  constructor(readonly graph: OnnxGraph) {
    graph.nodes.forEach((node, i) => {
      for (const out of node.outputs) if (out) this.producer.set(out, i);
      for (const input of node.inputs) {
        if (!input) continue;
        let list = this.consumers.get(input);
        if (!list) this.consumers.set(input, (list = []));
        list.push(i);
      }
    });
  }

  node(i: number): OnnxNode {
    return this.graph.nodes[i]!;
  }

  /** Indices of the nodes that computing `outputs` needs when the tensors in `given` are supplied, in graph order. */
  neededNodes(outputs: readonly string[], given: ReadonlySet<string> = new Set()): number[] {
    const needed = new Set<number>();
    const stack = outputs.filter((t) => !given.has(t));
    while (stack.length > 0) {
      const producer = this.producer.get(stack.pop()!);
      if (producer === undefined || needed.has(producer)) continue;
      needed.add(producer);
      for (const input of this.node(producer).inputs) if (input && !given.has(input)) stack.push(input);
    }
    return [...needed].sort((a, b) => a - b);
  }

  /** Every tensor `tensor` depends on, itself included. */
  ancestors(tensor: string): Set<string> {
    return this.reach(tensor, (t) => {
      const producer = this.producer.get(t);
      return producer === undefined ? [] : this.node(producer).inputs;
    });
  }

  /** Every tensor that depends on `tensor`, itself included; `valuesOnly` skips dependence through Shape and Size (on its shape alone). */
  descendants(tensor: string, valuesOnly = false): Set<string> {
    return this.reach(tensor, (t) =>
      (this.consumers.get(t) ?? [])
        .filter((c) => !(valuesOnly && SHAPE_ONLY.has(this.node(c).opType)))
        .flatMap((c) => this.node(c).outputs));
  }

  /** The tensors reached from `tensor` by following `next` (empty names, ONNX's absent inputs, skipped). */
  private reach(tensor: string, next: (t: string) => readonly string[]): Set<string> {
    const seen = new Set<string>();
    const stack = [tensor];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      for (const u of next(t)) if (u) stack.push(u);
    }
    return seen;
  }
}
