// End to end: a small MLP, its parameters declared with graph.param, learns y = sin(3 x1) * x2 on
// random points through the whole path: tracing, reverse-mode gradients and AdamW in the same graph,
// ONNX Runtime execution. Then the trained model is exported with its weights
// baked in and checked on points it never saw.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Graph, Tensor } from '../../src/engine/graph.js';
import type { HostTensor, ParamTree } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { compile } from '../../src/engine/runtime.js';
import { TrainStep } from '../../src/engine/train-step.js';
import { randomTensor } from './gradcheck.js';

const HIDDEN = 32;
const SHAPES: Record<string, number[]> = {
  'l1.weight': [HIDDEN, 2], 'l1.bias': [HIDDEN],
  'l2.weight': [HIDDEN, HIDDEN], 'l2.bias': [HIDDEN],
  'out.weight': [1, HIDDEN], 'out.bias': [1],
};

function mlp(g: Graph, x: Tensor): Tensor {
  const layer = (name: string, h: Tensor): Tensor => g.scope(name, () => F.linear(h, g.param(`${name}.weight`, SHAPES[`${name}.weight`]!), g.param(`${name}.bias`, SHAPES[`${name}.bias`]!)));
  return layer('out', F.tanh(layer('l2', F.silu(layer('l1', x)))));
}

/** Points uniform in [-1, 1]² and their targets sin(3 x1) x2. */
function dataset(count: number, seed: number): { x: HostTensor; y: HostTensor } {
  let state = seed;
  const uniform = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648) * 2 - 1;
  };
  const x = new Float32Array(count * 2).map(uniform);
  const y = new Float32Array(count).map((_, i) => Math.sin(3 * x[2 * i]!) * x[2 * i + 1]!);
  return { x: { dtype: 'float32', shape: [count, 2], data: x }, y: { dtype: 'float32', shape: [count, 1], data: y } };
}

/** He-style initialisation from the test's deterministic normal generator; zero biases. */
function initialParams(): ParamTree {
  const params: ParamTree = new Map();
  Object.entries(SHAPES).forEach(([name, shape], i) => {
    const t = randomTensor(shape, 7 + i) as HostTensor<'float32'>;
    const scale = name.endsWith('.bias') ? 0 : Math.sqrt(1 / shape[1]!);
    params.set(name, { ...t, data: t.data.map((v) => v * scale) });
  });
  return params;
}

test('an MLP learns sin(3 x1) * x2 through trace, grad, ONNX Runtime and AdamW', async () => {
  const started = performance.now();
  const train = dataset(256, 1);
  const params = initialParams();
  const step = new TrainStep(params, (g, { x, y }) => F.mean(F.square(F.sub(mlp(g, x!), y!))));
  const losses: number[] = [];
  for (let i = 0; i < 400; i++) losses.push((await step.step(train, i < 300 ? 1e-2 : 3e-3)).loss);
  await step.dispose();

  const first = losses[0]!;
  const last = Math.min(...losses.slice(-10));
  assert.ok(losses.every(Number.isFinite), 'every loss is finite');
  assert.ok(last < first / 10, `loss fell from ${first} to ${last}, less than 10x`);
  assert.ok(last < 5e-3, `final training loss ${last}`);

  // The trained network, exported with its weights as initializers, fits points it has not seen.
  const test = dataset(200, 99);
  const exported = compile((g, { x }) => ({ y: mlp(g, x!) }), { params });
  const predicted = (await exported.run({ x: test.x })).y!.data as Float32Array;
  await exported.dispose();
  let error = 0;
  let variance = 0;
  const targets = test.y.data as Float32Array;
  const meanTarget = targets.reduce((a, b) => a + b) / targets.length;
  targets.forEach((t, i) => {
    error += (predicted[i]! - t) ** 2;
    variance += (t - meanTarget) ** 2;
  });
  assert.ok(error / variance < 0.1, `held-out error is ${((100 * error) / variance).toFixed(1)}% of the targets' variance`);
  assert.ok(performance.now() - started < 20_000, 'runs in a few seconds');
});
