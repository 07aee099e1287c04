import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dynamicBatch } from '../../../src/engine/onnx/dynamic-batch.js';
import * as F from '../../../src/engine/ops/index.js';
import { OnnxSession, type TraceFn, compile } from '../../../src/engine/runtime.js';

const lowerer = (fn: TraceFn) => (rows: number) => compile(fn, { params: new Map(), name: 'f' }).lower({ x: { shape: [rows, 4, 3], dtype: 'float32' } }).model;

test('a graph lowered at fixed batches runs at any batch once its batch-sized shape constants are computed', async () => {
  // Reshapes to [B*4, 3] and back, and a batch-shaped fill: shape constants that are multiples of the batch.
  const fn: TraceFn = (graph, { x }) => {
    const rows = x!.shape[0]!;
    const flat = F.reshape(x!, [rows * 4, 3]);
    const back = F.reshape(F.mul(flat, flat), [rows, 12]);
    return { y: F.add(back, F.fill(graph, [rows, 12], 0.5)) };
  };
  const model = dynamicBatch(lowerer(fn));
  assert.deepEqual(model.graph.inputs[0]!.shape, ['batch', 4, 3]);
  assert.deepEqual(model.graph.outputs[0]!.shape, ['batch', 12]);
  const session = await OnnxSession.create(model);
  for (const rows of [1, 5]) {
    const x = { dtype: 'float32' as const, shape: [rows, 4, 3], data: Float32Array.from({ length: rows * 12 }, (_, i) => i - 7) };
    const y = await session.run({ x });
    assert.deepEqual(y.y!.shape, [rows, 12]);
    assert.deepEqual(y.y!.data, Float32Array.from(x.data, (v) => v * v + 0.5));
  }
  await session.dispose();
});

test('a graph whose constants change with the batch other than by a multiple is refused, naming the node', () => {
  const fn: TraceFn = (graph, { x }) => ({ y: F.mul(x!, graph.constant({ dtype: 'float32', shape: [1], data: Float32Array.of(x!.shape[0]!) })) });
  assert.throws(() => dynamicBatch(lowerer(fn)), /f: the graph does not scale with its batch: a constant input of node '.*' changes with the batch/);
});
