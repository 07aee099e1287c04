import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grad } from '../../src/engine/autodiff.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { RngStream } from '../../src/engine/rng.js';
import { compile } from '../../src/engine/runtime.js';
import { loadFeatureNet, shippedFeatureNetDir } from '../../src/eval/feature-net.js';
import { openDataset } from '../../src/data/registry.js';
import { type ReflowLoss, REFLOW_LOSS_DEFAULTS, featureNetMap, identityMap, lossScales, reflowLoss } from '../../src/reflow/loss.js';

const batch = 3;
const dim = 4;
const draw = (label: string, count = batch * dim) => RngStream.fromSeed(0, label).normal({ start: 0, count: 1 }, count);
const samples = (data: Float32Array): HostTensor => ({ dtype: 'float32', shape: [batch, dim], data });
const rows = (data: Float32Array): HostTensor => ({ dtype: 'float32', shape: [batch], data });

test('the loss graph computes l2, pseudo-Huber and perceptual Huber as written, from per-sample scales', async () => {
  const output = draw('output');
  const target = draw('target');
  const x = draw('x');
  const data = draw('data');
  const t = [0.1, 0.5, 0.9];
  const velocity = [-0.8, -0.5, -0.3];
  const [denoisedInput, denoisedOutput] = [Float32Array.of(1, 0.5, 0.2), Float32Array.of(0.1, 0.4, 0.5)];
  for (const kind of ['l2', 'pseudo-huber', 'perceptual-huber'] as const) {
    const loss: ReflowLoss = { ...REFLOW_LOSS_DEFAULTS, kind, huberC: 0.3 };
    const scales = t.map((time, b) => lossScales(loss, time, velocity[b]!, dim));
    const feeds: Record<string, HostTensor> = {
      output: samples(output), x: samples(x), target: samples(target), data: samples(data), denoisedInput: rows(denoisedInput), denoisedOutput: rows(denoisedOutput),
      scale: rows(Float32Array.from(scales, (s) => s.scale)), weight: rows(Float32Array.from(scales, (s) => s.weight)), perceptual: rows(Float32Array.from(scales, (s) => s.perceptual)),
    };
    const fn = compile((_g, inputs) => ({ loss: reflowLoss(loss, identityMap, inputs.output!, inputs) }), { params: new Map() });
    const graphLoss = (await fn.run(feeds)).loss!.data[0] as number;
    await fn.dispose();
    let expected = 0;
    for (let b = 0; b < batch; b++) {
      let squared = 0;
      let perceptual = 0;
      for (let i = b * dim; i < (b + 1) * dim; i++) {
        squared += (velocity[b]! * (output[i]! - target[i]!)) ** 2 / dim;
        perceptual += (denoisedInput[b]! * x[i]! + denoisedOutput[b]! * output[i]! - data[i]!) ** 2 / dim;
      }
      const huber = Math.sqrt(squared + 0.3 ** 2) - 0.3;
      if (kind === 'l2') expected += squared;
      else if (kind === 'pseudo-huber') expected += huber;
      else expected += (1 - t[b]!) * huber + perceptual / t[b]!;
    }
    expected /= batch;
    assert.ok(Math.abs(graphLoss - expected) < 1e-5 * (1 + expected), `${kind}: graph ${graphLoss}, expected ${expected}`);
  }
});

test('the frozen feature map is the shipped feature network, with gradients to its input', async () => {
  const dataset = openDataset('shapes');
  const net = await loadFeatureNet(shippedFeatureNetDir(dataset)!);
  const images = dataset.sample({ start: 0, count: 2 }, 0).x;
  const map = featureNetMap(net.config, net.params);
  const fn = compile((_g, { x }) => {
    const features = map(x!);
    return { features, gradient: grad(F.sum(features), [x!])[0]! };
  }, { params: new Map() });
  const out = await fn.run({ x: images });
  await fn.dispose();
  const reference = await net.features(images);
  await net.dispose();
  const features = out.features!.data as Float32Array;
  features.forEach((value, i) => assert.ok(Math.abs(value - reference.features[i]!) < 1e-4, `feature ${i}: ${value} vs ${reference.features[i]}`));
  assert.ok((out.gradient!.data as Float32Array).some((g) => Math.abs(g) > 1e-6), 'no gradient reaches the images');
});
