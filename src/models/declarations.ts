// Declarations: every parameter carries its initialiser and every addressable module its kind, so
// that tracing any function once (a diffusion network, a feature network, an encoder) tells init.ts
// how to initialise it and tells acceleration policies what they may cache.

import type { Graph, Tensor } from '../engine/graph.js';
import type { ModuleContext } from './module-context.js';

export type ParamInit =
  | { kind: 'uniform'; bound: number }
  | { kind: 'normal'; std: number }
  | { kind: 'constant'; value: number };

/**
 * embedding: noise/label/caption embedding; stem and head: the first and last layers; stage: a
 * sequence of blocks (the U-Net's middle); block > layer > unit: A-SDM's feature-inheritance
 * granularities (a unit is the self-attention, cross-attention or MLP inside a transformer layer).
 */
export type ModuleKind = 'embedding' | 'stem' | 'stage' | 'block' | 'layer' | 'unit' | 'head';

/** Where a module sits in the network: Faster Diffusion's encoder / middle / decoder split for the U-Net. */
export type ModuleRole = 'conditioning' | 'input' | 'encoder' | 'middle' | 'decoder' | 'backbone' | 'output';

export interface ModuleInfo {
  path: string;
  kind: ModuleKind;
  role: ModuleRole;
}

/** What a traced graph declared: each parameter's initialiser, and the addressable modules in execution order. */
export interface Declarations {
  inits: Map<string, ParamInit>;
  modules: { path: string; kind: ModuleKind }[];
}

const declarationsByGraph = new WeakMap<Graph, Declarations>();

/** The declarations made while tracing `graph` (empty for a graph that declared nothing). */
export function declarationsOf(graph: Graph): Declarations {
  let found = declarationsByGraph.get(graph);
  if (!found) {
    found = { inits: new Map(), modules: [] };
    declarationsByGraph.set(graph, found);
  }
  return found;
}

export const ZEROS: ParamInit = { kind: 'constant', value: 0 };
export const ONES: ParamInit = { kind: 'constant', value: 1 };
export const normalInit = (std: number): ParamInit => ({ kind: 'normal', std });

/**
 * How a weight matrix starts: 'fanIn' keeps the output variance equal to the input's (LeCun
 * uniform, what EDM's kaiming_uniform amounts to); 'xavier' as DiT's transformer layers; 'zero' for
 * the last layer of a residual branch, so every branch starts as the identity (EDM/ADM, DiT).
 */
export type WeightInit = 'fanIn' | 'xavier' | 'zero';

export function weightInit(init: WeightInit, fanIn: number, fanOut: number): ParamInit {
  switch (init) {
    case 'fanIn': return { kind: 'uniform', bound: Math.sqrt(3 / fanIn) };
    case 'xavier': return { kind: 'uniform', bound: Math.sqrt(6 / (fanIn + fanOut)) };
    case 'zero': return ZEROS;
  }
}

/** A parameter of the current module with its initialiser. */
export function param(ctx: ModuleContext, name: string, shape: readonly number[], init: ParamInit): Tensor {
  const t = ctx.param(name, shape);
  declarationsOf(ctx.graph).inits.set(t.name!, init);
  return t;
}

/** An addressable sub-module (capturable and reusable through the ModuleContext plan). */
export function namedModule(ctx: ModuleContext, name: string, kind: ModuleKind, body: () => Tensor): Tensor {
  declarationsOf(ctx.graph).modules.push({ path: ctx.currentPath ? `${ctx.currentPath}.${name}` : name, kind });
  return ctx.module(name, body);
}
