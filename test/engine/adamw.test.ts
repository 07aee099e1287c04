// The graph AdamW of a compiled training step against a plain float64 AdamW, its weight decay and
// gradient clipping, a non-finite step, exact resume through a checkpoint, and state that does not fit.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AdamW } from '../../src/engine/adamw.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../../src/engine/checkpoint.js';
import { underPrefix, withPrefix } from '../../src/engine/checkpoint-format.js';
import type { Graph, Tensor } from '../../src/engine/graph.js';
import { cloneParams, float32, type HostTensor, type ParamTree } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { emaBeta, learningRateSchedule, updateEma } from '../../src/engine/optim.js';
import { TrainStep, type TrainStepOptions } from '../../src/engine/train-step.js';

const root = await mkdtemp(join(tmpdir(), 'hasten-adamw-'));
after(() => rm(root, { recursive: true, force: true }));

// A tiny quadratic: loss = 1/2 sum curvature * (p - target)^2 over a weight matrix and a bias, so the
// gradient is curvature * (p - target).
const curvature = [1, 4, 0.5, 2, 3, 0.25];
const target = [1, -1, 2, 0.5, -0.5, 1.5];
const decayed = [true, true, true, true, false, false]; // the matrix, not the bias

function initialParams(): ParamTree {
  return new Map([
    ['layer.weight', float32([2, 2], [0.1, 0.2, -0.3, 0.4])],
    ['layer.bias', float32([2], [0.05, -0.05])],
  ]);
}

function flatten(params: ParamTree): number[] {
  return [...params.values()].flatMap((tensor) => [...tensor.data]);
}

/** The quadratic in graph ops; `scale` (a batch input) multiplies the loss, so a NaN can be fed. */
function quadratic(g: Graph, { scale }: Record<string, Tensor>): Tensor {
  const p = F.concat([F.reshape(g.param('layer.weight', [2, 2]), [-1]), g.param('layer.bias', [2])], 0);
  const c = g.constant(float32([6], curvature));
  const y = g.constant(float32([6], target));
  return F.mul(F.mul(F.sum(F.mul(c, F.square(F.sub(p, y)))), 0.5), scale!);
}

const unitScale = { scale: float32([], [1]) };

/** PyTorch's AdamW in float64, written from the paper's algorithm box, with optional global-norm clipping. */
function referenceAdamW(settings: { beta1: number; beta2: number; epsilon: number; weightDecay: number }, clip: number) {
  const p = flatten(initialParams());
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  let t = 0;
  return {
    p,
    step(lr: number): void {
      t++;
      let g = p.map((value, i) => curvature[i]! * (value - target[i]!));
      const norm = Math.sqrt(g.reduce((sum, x) => sum + x * x, 0));
      if (clip > 0) g = g.map((x) => x * Math.min(clip / (norm + 1e-6), 1));
      for (let i = 0; i < p.length; i++) {
        m[i] = settings.beta1 * m[i]! + (1 - settings.beta1) * g[i]!;
        v[i] = settings.beta2 * v[i]! + (1 - settings.beta2) * g[i]! ** 2;
        const mHat = m[i]! / (1 - settings.beta1 ** t);
        const vHat = v[i]! / (1 - settings.beta2 ** t);
        if (decayed[i]) p[i]! -= lr * settings.weightDecay * p[i]!;
        p[i]! -= (lr * mHat) / (Math.sqrt(vHat) + settings.epsilon);
      }
    },
  };
}

for (const clipGradNorm of [0, 1]) {
  test(`the graph AdamW matches a float64 AdamW over 12 steps (weight decay on matrices, clipping ${clipGradNorm || 'off'})`, async () => {
    const settings = { beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.1 };
    const rate = learningRateSchedule({ peak: 0.05, warmupSteps: 2, decay: 'cosine', totalSteps: 12 });
    const step = new TrainStep(initialParams(), quadratic, { optimizer: settings, clipGradNorm });
    const reference = referenceAdamW(settings, clipGradNorm);
    let largest = 0;
    for (let s = 0; s < 12; s++) {
      await step.step(unitScale, rate(s));
      reference.step(rate(s));
      const actual = flatten(step.params);
      for (let i = 0; i < actual.length; i++) largest = Math.max(largest, Math.abs(actual[i]! - reference.p[i]!));
    }
    await step.dispose();
    assert.equal(step.stepCount, 12);
    assert.ok(largest < 2e-6, `largest difference from the float64 reference ${largest}`);
    assert.ok(Math.abs(reference.p[0]! - 0.1) > 0.1, 'the parameters moved');
  });
}

test('weight decay alone scales decayed parameters by (1 - lr * weightDecay); decays chooses which', async () => {
  const keep = 1 - 0.1 * 0.5;
  for (const [options, decayBias] of [[{ weightDecay: 0.5 }, false], [{ weightDecay: 0.5, decays: () => true }, true]] as const) {
    const step = new TrainStep(initialParams(), (g, batch) => F.mul(quadratic(g, batch), 0), { optimizer: options });
    await step.step(unitScale, 0.1);
    await step.dispose();
    const weight = initialParams().get('layer.weight')!.data.map((value) => value * keep);
    const bias = initialParams().get('layer.bias')!.data.map((value) => (decayBias ? value * keep : value));
    for (const [actual, expected] of [[step.params.get('layer.weight')!.data, weight], [step.params.get('layer.bias')!.data, bias]]) {
      actual!.forEach((value, i) => assert.ok(Math.abs(value - expected![i]!) < 1e-7, `${value} vs ${expected![i]}`));
    }
  }
});

test('a non-finite loss leaves the parameters and the optimizer state untouched', async () => {
  const step = new TrainStep(initialParams(), quadratic);
  const result = await step.step({ scale: float32([], [NaN]) }, 0.1);
  await step.dispose();
  assert.ok(Number.isNaN(result.loss));
  assert.deepEqual(step.params, initialParams());
  assert.equal(step.stepCount, 0);
  assert.ok(step.optimizer.firstMoments.every((x) => x === 0));
});

test('resuming from a checkpoint continues bit-identically', async () => {
  const options: TrainStepOptions = { optimizer: { beta2: 0.99, weightDecay: 0.01 }, clipGradNorm: 1 };
  const rate = learningRateSchedule({ peak: 0.02, warmupSteps: 2, decay: 'linear', totalSteps: 8 });
  const advance = async (step: TrainStep, ema: ParamTree, s: number) => {
    await step.step(unitScale, rate(s));
    updateEma(ema, step.params, emaBeta({ step: s, imagesSeen: s * 4, batchSize: 4 }, { halfLifeImages: 20 }));
  };

  const step = new TrainStep(initialParams(), quadratic, options);
  const ema = cloneParams(step.params);
  for (let s = 0; s < 3; s++) await advance(step, ema, s);

  const location = join(root, 'resume');
  const extra = new Map<string, HostTensor>([...step.stateTensors(), ...withPrefix('ema.', ema)]);
  await saveCheckpoint(location, { params: step.params, config: { model: 'quadratic' }, extra, step: 3 });

  const loaded = await loadCheckpoint(location);
  const resumed = new TrainStep(loaded.params, quadratic, options);
  resumed.loadStateTensors(loaded.extra, loaded.files.weights);
  const resumedEma = underPrefix('ema.', loaded.extra) as ParamTree;
  assert.equal(resumed.stepCount, 3);

  for (let s = 3; s < 8; s++) {
    await advance(step, ema, s);
    await advance(resumed, resumedEma, s);
  }
  await Promise.all([step.dispose(), resumed.dispose()]);
  assert.deepEqual(resumed.params, step.params);
  assert.deepEqual(resumedEma, ema);
  assert.deepEqual(resumed.stateTensors(), step.stateTensors());
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
  assert.throws(() => new AdamW(initialParams(), { beta1: 1 }), /betas must be in \[0, 1\)/);
});
