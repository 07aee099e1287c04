import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../../src/engine/checkpoint.js';
import { underPrefix, withPrefix } from '../../src/engine/checkpoint-format.js';
import { cloneParams, float32, type HostTensor, type ParamTree } from '../../src/engine/host-tensor.js';
import {
  AdamW,
  clipGradientsByGlobalNorm,
  emaBeta,
  globalNorm,
  learningRateSchedule,
  updateEma,
} from '../../src/engine/optim.js';

const root = await mkdtemp(join(tmpdir(), 'hasten-optim-'));
after(() => rm(root, { recursive: true, force: true }));

// A tiny quadratic: loss = 1/2 sum curvature * (p - target)^2 over a weight matrix and a bias.
const curvature = [1, 4, 0.5, 2, 3, 0.25];
const target = [1, -1, 2, 0.5, -0.5, 1.5];

function initialParams(): ParamTree {
  return new Map([
    ['layer.weight', float32([2, 2], [0.1, 0.2, -0.3, 0.4])],
    ['layer.bias', float32([2], [0.05, -0.05])],
  ]);
}

function flatten(params: ParamTree): number[] {
  return [...params.values()].flatMap((tensor) => [...tensor.data]);
}

function quadraticGradients(params: ParamTree): ParamTree {
  const grads: ParamTree = new Map();
  let offset = 0;
  for (const [name, tensor] of params) {
    const data = tensor.data.map((value, i) => curvature[offset + i] * (value - target[offset + i]));
    grads.set(name, float32(tensor.shape, data));
    offset += tensor.data.length;
  }
  return grads;
}

test('AdamW matches a float64 reference on a quadratic, with weight decay on matrices only', () => {
  const settings = { beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.1 };
  const rate = learningRateSchedule({ peak: 0.05, warmupSteps: 2, decay: 'cosine', totalSteps: 6 });
  const decayed = [true, true, true, true, false, false];
  const params = initialParams();
  const optimizer = new AdamW(params, settings);

  const p = flatten(params).map((value) => Math.fround(value));
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  for (let step = 0; step < 6; step++) {
    optimizer.step(params, quadraticGradients(params), rate(step));
    const t = step + 1;
    const lr = rate(step);
    for (let i = 0; i < p.length; i++) {
      const g = curvature[i] * (p[i] - target[i]);
      m[i] = settings.beta1 * m[i] + (1 - settings.beta1) * g;
      v[i] = settings.beta2 * v[i] + (1 - settings.beta2) * g * g;
      const mHat = m[i] / (1 - settings.beta1 ** t);
      const vHat = v[i] / (1 - settings.beta2 ** t);
      if (decayed[i]) p[i] -= lr * settings.weightDecay * p[i];
      p[i] -= (lr * mHat) / (Math.sqrt(vHat) + settings.epsilon);
    }
    const actual = flatten(params);
    for (let i = 0; i < p.length; i++) assert.ok(Math.abs(actual[i] - p[i]) < 1e-6, `step ${step} value ${i}: ${actual[i]} vs ${p[i]}`);
  }
  assert.equal(optimizer.stepCount, 6);
});

test('AdamW weight decay alone scales decayed parameters by (1 - lr * weightDecay)', () => {
  const params = initialParams();
  const zeroGrads: ParamTree = new Map([...params].map(([name, tensor]) => [name, float32(tensor.shape)]));
  const keep = 1 - 0.1 * 0.5;
  new AdamW(params, { weightDecay: 0.5 }).step(params, zeroGrads, 0.1);
  assert.deepEqual(params.get('layer.weight')!.data, initialParams().get('layer.weight')!.data.map((value) => value * keep));
  assert.deepEqual(params.get('layer.bias')!.data, initialParams().get('layer.bias')!.data);
  const decayEverything = new AdamW(params, { weightDecay: 0.5, decays: () => true });
  decayEverything.step(params, zeroGrads, 0.1);
  assert.deepEqual(params.get('layer.bias')!.data, initialParams().get('layer.bias')!.data.map((value) => value * keep));
});

test('AdamW rejects a missing gradient without touching any parameter', () => {
  const params = initialParams();
  const optimizer = new AdamW(params);
  const grads = quadraticGradients(params);
  grads.delete('layer.bias');
  assert.throws(() => optimizer.step(params, grads, 0.1), /no gradient 'layer\.bias'/);
  assert.deepEqual(params, initialParams());
  assert.equal(optimizer.stepCount, 0);
});

test('gradient clipping by global norm returns the norm before clipping', () => {
  const grads: ParamTree = new Map([
    ['a', float32([1], [3])],
    ['b', float32([2], [0, 4])],
  ]);
  assert.equal(clipGradientsByGlobalNorm(grads, 10), 5);
  assert.deepEqual(flatten(grads), [3, 0, 4]);
  assert.equal(clipGradientsByGlobalNorm(grads, 1), 5);
  assert.ok(Math.abs(globalNorm(grads) - 1) < 1e-7);
  assert.deepEqual(flatten(grads), [0.6, 0, 0.8].map(Math.fround));

  const broken: ParamTree = new Map([['a', float32([2], [NaN, 1])]]);
  assert.ok(Number.isNaN(clipGradientsByGlobalNorm(broken, 1)));
  assert.equal(broken.get('a')!.data[1], 1, 'non-finite norms leave gradients alone');
});

test('learning-rate schedules at their boundaries', () => {
  const common = { peak: 1, warmupSteps: 10, totalSteps: 110, floor: 0.1 };
  const cosine = learningRateSchedule({ ...common, decay: 'cosine' });
  const linear = learningRateSchedule({ ...common, decay: 'linear' });
  const constant = learningRateSchedule({ ...common, decay: 'constant' });
  for (const schedule of [cosine, linear, constant]) {
    assert.equal(schedule(0), 0.1);
    assert.equal(schedule(4), 0.5);
    assert.equal(schedule(9), 1);
    assert.equal(schedule(10), 1);
  }
  assert.ok(Math.abs(cosine(60) - 0.55) < 1e-12);
  assert.ok(Math.abs(linear(60) - 0.55) < 1e-12);
  assert.ok(Math.abs(cosine(35) - (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)))) < 1e-12);
  assert.ok(Math.abs(linear(35) - (1 - 0.9 * 0.25)) < 1e-12);
  for (const step of [110, 111, 10_000]) {
    assert.equal(cosine(step), 0.1);
    assert.equal(linear(step), 0.1);
    assert.equal(constant(step), 1);
  }
  assert.equal(learningRateSchedule({ peak: 2e-4 })(0), 2e-4, 'no warm-up by default');
  assert.throws(() => learningRateSchedule({ decay: 'cosine', warmupSteps: 10 }), /needs totalSteps > warmupSteps/);
});

test('EMA beta: EDM half-life with ramp-up, and fixed beta with optional warm-up', () => {
  const halfLife = { halfLifeImages: 1000, rampUpRatio: 0.05 };
  assert.equal(emaBeta({ step: 0, imagesSeen: 0, batchSize: 10 }, halfLife), 0, 'the first update copies the parameters');
  assert.equal(emaBeta({ step: 10, imagesSeen: 1000, batchSize: 10 }, halfLife), 0.5 ** (10 / 50), 'ramp-up caps the half-life at 5% of images seen');
  assert.equal(emaBeta({ step: 1e4, imagesSeen: 1e6, batchSize: 10 }, halfLife), 0.5 ** (10 / 1000));
  assert.equal(emaBeta({ step: 0, imagesSeen: 0, batchSize: 10 }, { halfLifeImages: 1000, rampUpRatio: null }), 0.5 ** (10 / 1000));
  const fixed = { halfLifeImages: null, beta: 0.999 };
  assert.equal(emaBeta({ step: 0, imagesSeen: 0, batchSize: 10 }, fixed), 0.999);
  assert.equal(emaBeta({ step: 0, imagesSeen: 0, batchSize: 10 }, { ...fixed, betaWarmup: true }), 0.1);
  assert.equal(emaBeta({ step: 1e6, imagesSeen: 0, batchSize: 10 }, { ...fixed, betaWarmup: true }), 0.999);
});

test('EMA with a half-life of H images keeps half the old value after H images', () => {
  const ema: ParamTree = new Map([['w', float32([2], [1, 1])]]);
  const params: ParamTree = new Map([['w', float32([2], [0, 0])]]);
  const batchSize = 8;
  const settings = { halfLifeImages: 400, rampUpRatio: null };
  for (let step = 0; step < 400 / batchSize; step++) {
    updateEma(ema, params, emaBeta({ step, imagesSeen: step * batchSize, batchSize }, settings));
  }
  assert.ok(Math.abs(ema.get('w')!.data[0] - 0.5) < 1e-5);
  updateEma(ema, new Map([['w', float32([2], [2, 4])]]), 0.25);
  assert.ok(Math.abs(ema.get('w')!.data[1] - (0.25 * 0.5 + 0.75 * 4)) < 1e-6);
  assert.throws(() => updateEma(ema, new Map(), 0.5), /parameter 'w' is missing/);
});

test('resuming from a checkpoint continues bit-identically', async () => {
  const settings = { beta2: 0.99, weightDecay: 0.01 };
  const rate = learningRateSchedule({ peak: 0.02, warmupSteps: 2, decay: 'linear', totalSteps: 8 });
  const trainStep = (params: ParamTree, optimizer: AdamW, ema: ParamTree, step: number) => {
    const grads = quadraticGradients(params);
    clipGradientsByGlobalNorm(grads, 1);
    optimizer.step(params, grads, rate(step));
    updateEma(ema, params, emaBeta({ step, imagesSeen: step * 4, batchSize: 4 }, { halfLifeImages: 20 }));
  };

  const params = initialParams();
  const optimizer = new AdamW(params, settings);
  const ema = cloneParams(params);
  for (let step = 0; step < 3; step++) trainStep(params, optimizer, ema, step);

  const location = join(root, 'resume');
  const extra = new Map<string, HostTensor>([...optimizer.stateTensors(), ...withPrefix('ema.', ema)]);
  await saveCheckpoint(location, { params, config: { model: 'quadratic' }, extra, step: 3 });

  const loaded = await loadCheckpoint(location);
  const resumedOptimizer = new AdamW(loaded.params, settings);
  resumedOptimizer.loadStateTensors(loaded.extra, loaded.files.weights);
  const resumedEma = underPrefix('ema.', loaded.extra) as ParamTree;
  assert.equal(resumedOptimizer.stepCount, 3);

  for (let step = 3; step < 8; step++) {
    trainStep(params, optimizer, ema, step);
    trainStep(loaded.params, resumedOptimizer, resumedEma, step);
  }
  assert.deepEqual(loaded.params, params);
  assert.deepEqual(resumedEma, ema);
  assert.deepEqual(resumedOptimizer.stateTensors(), optimizer.stateTensors());
});

test('restoring optimizer state that does not fit names the file and the tensor', () => {
  const optimizer = new AdamW(initialParams());
  const state = optimizer.stateTensors();
  state.set('adamw.v.layer.bias', float32([3]));
  assert.throws(
    () => new AdamW(initialParams()).loadStateTensors(state, 'run/checkpoint.safetensors'),
    (error) =>
      error instanceof CheckpointError &&
      error.path === 'run/checkpoint.safetensors' &&
      /shape mismatch for 'adamw\.v\.layer\.bias': expected \[2\], found \[3\]/.test(error.message),
  );
  state.delete('adamw.step');
  assert.throws(() => optimizer.loadStateTensors(state, 'run/checkpoint.safetensors'), /^CheckpointError: run\/checkpoint\.safetensors: optimizer state has no int64 scalar 'adamw\.step'/);
});
