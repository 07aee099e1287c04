// Parameter initialisation from a seed. Each parameter draws from its own stream, derived from the
// seed and its name, so a parameter's initial value does not depend on which others exist or on
// their order: adding a module to a model leaves the rest of its initialisation unchanged.

import { formatShape } from '../engine/graph.js';
import { sameShape, type ParamTree, numel } from '../engine/host-tensor.js';
import { RngStream, type Seed } from '../engine/rng.js';
import type { DiffusionNet, ParamInit } from './layers.js';

function draw(init: ParamInit, count: number, stream: RngStream): Float32Array {
  const one = { start: 0, count: 1 };
  switch (init.kind) {
    case 'constant': return new Float32Array(count).fill(init.value);
    case 'normal': return stream.normal(one, count).map((z) => z * init.std);
    case 'uniform': return stream.uniform(one, count).map((u) => (2 * u - 1) * init.bound);
  }
}

/** Fresh parameters of `model`, initialised as its layers declare (see WeightInit in layers.ts). */
export function initParams(model: DiffusionNet, seed: Seed): ParamTree {
  const root = RngStream.fromSeed(seed, 'init');
  const shapes = model.paramShapes();
  const params: ParamTree = new Map();
  for (const [name, init] of model.paramInits()) {
    const shape = shapes.get(name)!;
    params.set(name, { dtype: 'float32', shape, data: draw(init, numel(shape), root.derive(name)) });
  }
  return params;
}

/** Throws, naming the parameter, unless `params` has exactly the model's parameters and shapes (e.g. a checkpoint of another config). */
export function checkParams(model: DiffusionNet, params: ParamTree): void {
  const expected = model.paramShapes();
  for (const [name, shape] of expected) {
    const found = params.get(name);
    if (!found) throw new Error(`${model.config.arch}: parameter '${name}' ${formatShape(shape)} is missing`);
    if (!sameShape(found.shape, shape)) throw new Error(`${model.config.arch}: parameter '${name}' has shape ${formatShape(found.shape)}, the model expects ${formatShape(shape)}`);
  }
  for (const name of params.keys()) {
    if (!expected.has(name)) throw new Error(`${model.config.arch}: parameter '${name}' does not belong to this model`);
  }
}
