import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../../src/data/registry.js';
import { grad } from '../../src/engine/autodiff.js';
import { CheckpointError } from '../../src/engine/checkpoint.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { RngStream } from '../../src/engine/rng.js';
import { compile } from '../../src/engine/runtime.js';
import { TrainStep } from '../../src/engine/train-step.js';
import {
  classAccuracy, perClassAccuracy, crossEntropy, type FeatureNetConfig, FeatureNet, featureNetParamShapes, initFeatureNetParams, loadFeatureNet, logSoftmax, oneHot,
  claimFeatureNetFolder, saveFeatureNet, trainFeatureNet,
} from '../../src/eval/feature-net.js';

const TINY: FeatureNetConfig = {
  arch: 'feature-net', data: 'shapes', imageShape: [3, 8, 8], numClasses: 8, classNames: null,
  stageWidths: [4, 8], groups: 2, featureDim: 6,
};

const float32 = (shape: number[], values: number[]): HostTensor<'float32'> => ({ dtype: 'float32', shape, data: Float32Array.from(values) });

test('logSoftmax and crossEntropy: stable for huge logits, gradient softmax − target', async () => {
  const logits = [1000, 0, -1000, 1, 2, 3, -50, -50, -50];
  const target = [0, 1, 0, 0, 0, 1, 1, 0, 0];
  const fn = compile((g, inputs) => {
    const loss = crossEntropy(inputs.logits!, inputs.target!);
    return { logProbabilities: logSoftmax(inputs.logits!), loss, gradient: grad(loss, [inputs.logits!])[0]! };
  }, { params: new Map() });
  const out = await fn.run({ logits: float32([3, 3], logits), target: float32([3, 3], target) });
  await fn.dispose();
  const expected: number[] = [];
  const expectedGradient: number[] = [];
  for (let row = 0; row < 3; row++) {
    const values = logits.slice(3 * row, 3 * row + 3);
    const top = Math.max(...values);
    const logSum = top + Math.log(values.reduce((s, v) => s + Math.exp(v - top), 0));
    values.forEach((v, k) => {
      expected.push(v - logSum);
      expectedGradient.push((Math.exp(v - logSum) - target[3 * row + k]!) / 3);
    });
  }
  [...out.logProbabilities!.data].forEach((v, i) => assert.ok(Math.abs(Number(v) - expected[i]!) < 1e-4 * Math.max(1, Math.abs(expected[i]!)), `log p[${i}] = ${v}, expected ${expected[i]}`));
  const loss = -(expected[1]! + expected[5]! + expected[6]!) / 3;
  assert.ok(Math.abs(Number(out.loss!.data[0]) - loss) < 1e-3);
  [...out.gradient!.data].forEach((v, i) => assert.ok(Math.abs(Number(v) - expectedGradient[i]!) < 1e-6, `gradient[${i}] = ${v}, expected ${expectedGradient[i]}`));
});

test('crossEntropy: training a linear classifier lowers a finite loss', async () => {
  const [n, dim, classes] = [32, 5, 3];
  const stream = RngStream.fromSeed(3, 'cross-entropy-test');
  const x = stream.derive('x').normal({ start: 0, count: n }, dim);
  // Labels a linear function separates: the argmax of a fixed projection.
  const labels = new BigInt64Array(n).map((_, i) => BigInt([0, 1, 2].reduce((best, k) => (x[i * dim + k]! > x[i * dim + best]! ? k : best), 0)));
  const step = new TrainStep(new Map([['w', { dtype: 'float32', shape: [classes, dim], data: new Float32Array(classes * dim) }]]), (g, batch) => crossEntropy(F.linear(batch.x!, g.param('w', [classes, dim])), batch.target!));
  const feeds = { x: { dtype: 'float32' as const, shape: [n, dim], data: x }, target: oneHot({ dtype: 'int64', shape: [n], data: labels }, classes) };
  const losses: number[] = [];
  try {
    for (let i = 0; i < 30; i++) losses.push((await step.step(feeds, 0.1)).loss);
  } finally {
    await step.dispose();
  }
  assert.ok(losses.every(Number.isFinite));
  assert.ok(Math.abs(losses[0]! - Math.log(classes)) < 1e-5, 'zero weights give the uniform distribution');
  assert.ok(losses.at(-1)! < 0.5 * losses[0]!, `loss went from ${losses[0]} to ${losses.at(-1)}`);
});

test('feature net: shapes, padding of the last batch, and per-image independence (random weights)', async () => {
  const dataset = openDataset('shapes', { resolution: 8 });
  const images = dataset.sample({ start: 0, count: 5 }, 0).x;
  const net = new FeatureNet(TINY, initFeatureNetParams(TINY, 1), { batchSize: 2 });
  const whole = new FeatureNet(TINY, initFeatureNetParams(TINY, 1));
  try {
    const batched = await net.features(images);
    assert.equal(batched.features.length, 5 * TINY.featureDim);
    assert.equal(batched.logits.length, 5 * TINY.numClasses);
    assert.ok([...batched.features, ...batched.logits].every(Number.isFinite));
    assert.ok(batched.features.some((v) => v !== 0));
    const together = await whole.features(images);
    assert.ok(batched.features.every((v, i) => Math.abs(v - together.features[i]!) < 1e-5));
    await assert.rejects(net.features(openDataset('shapes', { resolution: 16 }).sample({ start: 0, count: 1 }, 0).x), /reads images \[n, 3, 8, 8\]/);
  } finally {
    await net.dispose();
    await whole.dispose();
  }
  assert.deepEqual(featureNetParamShapes(TINY).get('head.weight'), [8, 6]);
  assert.equal(classAccuracy(Float64Array.from([0, 1, 5, 2]), 2, { dtype: 'int64', shape: [2], data: BigInt64Array.from([1n, 1n]) }), 0.5);
  // Rows predict 1, 0, 1, 0; labelled 1, 1, 0, 2 of three classes.
  const logits = Float64Array.from([0, 1, 0, 3, 2, 1, 0, 4, 0, 9, 1, 1]);
  const labels = { dtype: 'int64' as const, shape: [4], data: BigInt64Array.from([1n, 1n, 0n, 2n]) };
  assert.deepEqual(perClassAccuracy(logits, 3, labels), [0, 0.5, 0]);
  assert.deepEqual(perClassAccuracy(logits, 3, { ...labels, data: BigInt64Array.from([1n, 1n, 1n, 1n]) }), [NaN, 0.5, NaN]);
  assert.throws(() => perClassAccuracy(logits, 3, { ...labels, data: BigInt64Array.from([1n, 1n, 3n, 1n]) }), /label 3 is outside 0..2/);
});

test('feature net: trains for a few steps, saves and loads back the same network', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hasten-feature-net-'));
  try {
    const { net, record } = await trainFeatureNet('shapes', { resolution: 8, steps: 3, batch: 8, heldOut: 16, architecture: { stageWidths: [4, 8], groups: 2, featureDim: 6 } });
    assert.ok(Number.isFinite(record.finalLoss) && record.seconds > 0);
    assert.ok(record.accuracy >= 0 && record.accuracy <= 1 && record.accuracyIsHeldOut);
    assert.deepEqual(net.config, { ...TINY, classNames: [...openDataset('shapes').classNames!] });
    await saveFeatureNet(dir, net, record);
    // A saved network is replaced only with overwrite.
    await assert.rejects(saveFeatureNet(dir, net, record), new RegExp(`${dir} already holds a feature network \\(checkpoint\\.json\\): replace it with --overwrite, or choose another folder`));
    assert.throws(() => claimFeatureNetFolder(dir), /already holds a feature network/);
    claimFeatureNetFolder(dir, { overwrite: true });
    await saveFeatureNet(dir, net, record, { overwrite: true });
    const loaded = await loadFeatureNet(dir);
    const images = openDataset('shapes', { resolution: 8 }).sample({ start: 100, count: 3 }, 1).x;
    const [before, after] = [await net.features(images), await loaded.features(images)];
    assert.deepEqual(after, before);
    await Promise.all([net.dispose(), loaded.dispose()]);

    await assert.rejects(trainFeatureNet('toy2d:two-moons', { steps: 1 }), /dataset of points/);
    const configFile = join(dir, 'checkpoint.json');
    await writeFile(configFile, (await readFile(configFile, 'utf8')).replace('"groups": 2', '"groups": 3'));
    await assert.rejects(loadFeatureNet(dir), (error: unknown) => error instanceof CheckpointError && /does not divide into 3 groups/.test(error.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
