import assert from 'node:assert/strict';
import { test } from 'node:test';
import { netTraceFn } from '../../src/models/network.js';
import { createModel } from '../../src/models/registry.js';
import { maxAbs, maxAbsDiff, randomInputs, randomParams, runOnce } from './helpers.js';

test('mlp: 2-D data with and without a class label', async () => {
  for (const settings of [{}, { numClasses: 8 }, { dataDim: 5, depth: 1, condVectorDim: 3 }]) {
    const model = createModel({ arch: 'mlp', width: 32, embeddingWidth: 16, ...settings });
    const out = (await runOnce(netTraceFn(model), randomParams(model, 1), randomInputs(model, 4, 2))).out!;
    assert.deepEqual(out.shape, [4, model.dataShape[0]], JSON.stringify(settings));
    assert.ok(maxAbs(out) > 0 && out.data.every((v) => Number.isFinite(v)));
  }
  assert.deepEqual(createModel({ arch: 'mlp', depth: 2 }).modules().map((m) => m.path), ['emb', 'in', 'blocks.0', 'blocks.1', 'out']);
});

test('mlp: the label changes the output and the null label is a label of its own', async () => {
  const model = createModel({ arch: 'mlp', width: 32, embeddingWidth: 16, numClasses: 2 });
  const params = randomParams(model, 3);
  const inputs = randomInputs(model, 2, 4);
  const withLabel = async (label: bigint) => (await runOnce(netTraceFn(model), params, { ...inputs, label: { dtype: 'int64', shape: [2], data: BigInt64Array.of(label, label) } })).out!;
  const [zero, one, none] = [await withLabel(0n), await withLabel(1n), await withLabel(2n)];
  assert.ok(maxAbsDiff(zero, one) > 1e-3 && maxAbsDiff(zero, none) > 1e-3);
});
