// FLOPs per module, measured on the traced graph rather than from formulas: each node's op.flops
// (2 per multiply-add) is charged to the module path it was traced in (node.scope). Only nodes the
// outputs need are counted, so a plan that reuses cached modules reports what actually runs.

import type { Graph, Tensor } from '../engine/graph.js';
import { neededNodes } from '../engine/onnx/lower.js';
import { traceFunction } from '../engine/runtime.js';
import { type DiffusionNet, netTraceFn } from './network.js';
import type { ModulePlan } from './module-context.js';
import { ENCODER_BLOCKS, hasLongSkips } from './capabilities.js';

export interface ModuleFlops {
  /** FLOPs of everything the outputs need. */
  total: number;
  /**
   * FLOPs under each path prefix, sub-modules included: every module ("enc.1.0", "enc.1.0.attn.self")
   * and every group of them ("enc", "enc.1"). The key '' is the total.
   */
  inclusive: Map<string, number>;
  /** FLOPs of the nodes traced directly in each scope, outside its sub-modules ('' for top-level nodes); these sum to the total. */
  exclusive: Map<string, number>;
}

/** FLOPs by module of the part of `graph` that `outputs` need. */
export function flopsByScope(graph: Graph, outputs: readonly Tensor[]): ModuleFlops {
  const inclusive = new Map<string, number>([['', 0]]);
  const exclusive = new Map<string, number>();
  const charge = (map: Map<string, number>, key: string, flops: number): void => {
    map.set(key, (map.get(key) ?? 0) + flops);
  };
  for (const node of neededNodes(graph, outputs)) {
    const flops = node.op.flops?.(node) ?? 0;
    charge(exclusive, node.scope, flops);
    charge(inclusive, '', flops);
    const parts = node.scope ? node.scope.split('.') : [];
    for (let depth = 1; depth <= parts.length; depth++) charge(inclusive, parts.slice(0, depth).join('.'), flops);
  }
  return { total: inclusive.get('')!, inclusive, exclusive };
}

export interface ModuleFlopsOptions {
  /** Batch size to trace at; the default 1 gives FLOPs per sample. */
  batch?: number;
  /** Capture/reuse plan, e.g. a decoder-only step of encoder propagation. */
  plan?: ModulePlan;
  /** Count Skip-Tuning's multiplies (U-Net). */
  skipScale?: boolean;
  encoderBlocks?: number; // MovableSplit's encoder size
}

/** FLOPs by module of one forward pass of `model`. */
export function moduleFlops(model: DiffusionNet, options: ModuleFlopsOptions = {}): ModuleFlops {
  const batch = options.batch ?? 1;
  const specs = model.inputSpecs(batch);
  if (options.skipScale) {
    if (!hasLongSkips(model)) throw new Error(`${model.config.arch}: skipScale applies to networks with long skips only`);
    specs.skipScale = { shape: [model.numSkips], dtype: 'float32' };
  }
  const { graph, outputs } = traceFunction(netTraceFn(model, options.plan, options.encoderBlocks === undefined ? {} : { [ENCODER_BLOCKS]: options.encoderBlocks }), specs);
  return flopsByScope(graph, Object.values(outputs));
}
