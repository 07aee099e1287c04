// The learning-rate schedules and the EMA of parameters.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { float32, type ParamTree } from '../../src/engine/host-tensor.js';
import { emaBeta, learningRateSchedule, updateEma } from '../../src/engine/optim.js';

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
