import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDataset } from '../../src/data/registry.js';
import { RngStream } from '../../src/engine/rng.js';
import { evaluateImages, evaluatePoints } from '../../src/eval/evaluate.js';
import { type FeatureNetConfig, FeatureNet, initFeatureNetParams } from '../../src/eval/feature-net.js';

test('evaluatePoints: samples of the true distribution sit at the floor, a shifted one far above it', () => {
  const dataset = openDataset('toy2d:two-moons');
  const n = 400;
  const fresh = Float64Array.from(dataset.sample({ start: 0, count: n }, 99).x.data);
  const good = evaluatePoints(fresh, dataset, n, 1, { realSets: 2 });
  assert.equal(good.n, n);
  assert.ok(good.swd_floor > 0 && good.swd < 2 * good.swd_floor && good.swd > 0.5 * good.swd_floor, JSON.stringify(good));
  assert.ok(Math.abs(good.mmd) < 0.01 && Math.abs(good.mmd_floor) < 0.01, JSON.stringify(good));
  const shifted = fresh.map((v, i) => (i % 2 === 0 ? v + 0.5 : v));
  const bad = evaluatePoints(shifted, dataset, n, 1, { realSets: 2 });
  assert.ok(bad.swd > 3 * bad.swd_floor && bad.mmd > 10 * Math.abs(bad.mmd_floor), JSON.stringify(bad));
  assert.equal(bad.swd_floor, good.swd_floor, 'the floor depends on the real sets only');
  assert.throws(() => evaluatePoints(fresh, dataset, n + 1, 1), /only 400 generated samples/);
  assert.throws(() => evaluatePoints(fresh, dataset, n, 1, { realSets: 1 }), /at least 2 real sets/);
});

test('evaluatePoints: each figure is a mean over K real sets with its spread, and the spread is what other real sets give', () => {
  const dataset = openDataset('toy2d:two-moons');
  const n = 150;
  const fresh = Float64Array.from(dataset.sample({ start: 0, count: n }, 99).x.data);
  const result = evaluatePoints(fresh, dataset, n, 1, { realSets: 6 });
  assert.equal(result.real_sets, 6);
  for (const std of [result.swd_std, result.swd_floor_std, result.mmd_std, result.mmd_floor_std]) assert.ok(std > 0, JSON.stringify(result));
  // A mean over 6 real sets moves between evaluation seeds by about std / √6.
  const floors = [2, 3, 4, 5, 6, 7, 8, 9].map((seed) => evaluatePoints(fresh, dataset, n, seed, { realSets: 6 }).swd_floor);
  const mean = floors.reduce((a, b) => a + b, 0) / floors.length;
  const spread = Math.sqrt(floors.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (floors.length - 1));
  const predicted = result.swd_floor_std / Math.sqrt(6);
  assert.ok(spread > predicted / 2.5 && spread < predicted * 2.5, `floor means moved by ${spread}, predicted ${predicted}`);
  assert.ok(Math.abs(result.swd_floor - mean) < 3 * predicted, `${result.swd_floor} vs ${mean}`);
});

test('evaluateImages: real images sit near the floor, noise far above it; accuracy of conditioned labels', async () => {
  const dataset = openDataset('shapes', { resolution: 8 });
  const config: FeatureNetConfig = { arch: 'feature-net', data: 'shapes', imageShape: [3, 8, 8], numClasses: 8, classNames: null, stageWidths: [8, 8], groups: 2, featureDim: 8 };
  // Random weights still give a feature space in which distributions differ.
  const net = new FeatureNet(config, initFeatureNetParams(config, 4));
  const n = 200;
  try {
    const real = dataset.sample({ start: 0, count: n }, 77);
    const good = await evaluateImages(net, real, dataset, n, 5);
    assert.ok(good.fd_floor > 0 && good.fd < 2 * good.fd_floor, JSON.stringify(good));
    const { logits } = await net.features(real.x);
    assert.ok(good.accuracy !== undefined && good.accuracy >= 0 && good.accuracy <= 1);
    // The accuracy counts the rows whose largest logit is at the conditioned label.
    const predicted = Array.from({ length: n }, (_, i) => logits.subarray(i * 8, i * 8 + 8).indexOf(Math.max(...logits.subarray(i * 8, i * 8 + 8))));
    const asConditioned = { ...real, labels: { ...real.labels!, data: BigInt64Array.from(predicted, BigInt) } };
    const perfect = await evaluateImages(net, asConditioned, dataset, n, 5);
    assert.equal(perfect.accuracy, 1);
    // Per class, keyed by the dataset's class names; a class no row was conditioned on has no accuracy.
    assert.deepEqual(Object.keys(perfect.class_accuracy!), [...dataset.classNames!]);
    for (const [name, accuracy] of Object.entries(perfect.class_accuracy!)) {
      assert.ok(accuracy === 1 || (Number.isNaN(accuracy) && !predicted.includes(dataset.classNames!.indexOf(name))), `${name}: ${accuracy}`);
    }

    const noise = { x: { ...real.x, data: RngStream.fromSeed(1, 'noise').normal({ start: 0, count: n }, 3 * 8 * 8) } };
    const bad = await evaluateImages(net, noise, dataset, n, 5);
    assert.equal(bad.accuracy, undefined);
    assert.equal(bad.fd_floor, good.fd_floor);
    assert.ok(bad.fd > 10 * bad.fd_floor && bad.kid > 10 * Math.abs(bad.kid_floor), JSON.stringify(bad));
    // Each figure carries its spread over the real sets: small beside a distance far above the floor.
    for (const result of [good, bad]) {
      assert.equal(result.real_sets, 5);
      assert.ok([result.fd_std, result.fd_floor_std, result.kid_std, result.kid_floor_std].every((std) => std > 0), JSON.stringify(result));
    }
    assert.ok(bad.fd_std < 0.3 * bad.fd && bad.kid_std < 0.3 * bad.kid, JSON.stringify(bad));
    await assert.rejects(evaluateImages(net, real, openDataset('shapes', { resolution: 16 }), n, 5), /trained on shapes at 3x8x8, not shapes at 3x16x16/);
  } finally {
    await net.dispose();
  }
});
