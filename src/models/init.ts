// Parameter initialisation from a seed, for any traced function whose parameters were declared with
// their initialisers (declarations.ts): a diffusion network, a feature network, an encoder. Each
// parameter draws from its own stream, derived from the seed and its name, so a parameter's initial
// value does not depend on which others exist or on their order: adding a module to a model leaves
// the rest of its initialisation unchanged.

import { loadParamsInto } from '../engine/checkpoint-format.js';
import { type ParamTree, numel } from '../engine/host-tensor.js';
import { RngStream, type Seed } from '../engine/rng.js';
import { type InputSpec, type TraceFn, traceFunction } from '../engine/runtime.js';
import { type ParamInit, declarationsOf } from './declarations.js';
import type { DiffusionNet } from './network.js';

/** A parameter as declared: its shape and how it starts. */
export interface DeclaredParam {
  shape: number[];
  init: ParamInit;
}

/** The parameters tracing `fn` once on `inputs` declares, in declaration order. */
export function declaredParams(fn: TraceFn, inputs: Record<string, InputSpec>): Map<string, DeclaredParam> {
  const { graph } = traceFunction(fn, inputs);
  const { inits } = declarationsOf(graph);
  return new Map([...graph.params].map(([name, tensor]) => {
    const init = inits.get(name);
    if (!init) throw new Error(`parameter '${name}' was declared without an initialiser (declare it with param() from models/declarations.ts)`);
    return [name, { shape: [...tensor.shape], init }];
  }));
}

function draw(init: ParamInit, count: number, stream: RngStream): Float32Array {
  const one = { start: 0, count: 1 };
  switch (init.kind) {
    case 'constant': return new Float32Array(count).fill(init.value);
    case 'normal': return stream.normal(one, count).map((z) => z * init.std);
    case 'uniform': return stream.uniform(one, count).map((u) => (2 * u - 1) * init.bound);
  }
}

/** Fresh parameters as declared, each drawn from `root` derived by its name. */
export function initDeclared(declared: ReadonlyMap<string, DeclaredParam>, root: RngStream): ParamTree {
  const params: ParamTree = new Map();
  for (const [name, { shape, init }] of declared) params.set(name, { dtype: 'float32', shape: [...shape], data: draw(init, numel(shape), root.derive(name)) });
  return params;
}

/** Fresh parameters of `model`, initialised as its layers declare (see WeightInit in declarations.ts). */
export function initParams(model: DiffusionNet, seed: Seed): ParamTree {
  const shapes = model.paramShapes();
  const declared = new Map([...model.paramInits()].map(([name, init]) => [name, { shape: shapes.get(name)!, init }]));
  return initDeclared(declared, RngStream.fromSeed(seed, 'init'));
}

/**
 * Throws a CheckpointError naming `source` and every problem (missing, mismatched, unexpected tensors)
 * unless `params` has exactly the model's parameters and shapes (e.g. a checkpoint of another config).
 */
export function checkParams(model: DiffusionNet, params: ParamTree, source: string): void {
  loadParamsInto(new Map([...model.paramShapes()].map(([name, shape]) => [name, { shape }])), params, source);
}
