import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSchedulerConfig, scheduleBetas, scheduleProcess, timestepAt } from '../../src/import/schedule.js';

test('diffusers beta schedules: the betas and alphas_cumprod it computes', () => {
  const linear = parseSchedulerConfig({ beta_schedule: 'linear', beta_start: 1e-4, beta_end: 0.02, num_train_timesteps: 1000 }, 'c');
  const betas = scheduleBetas(linear);
  assert.equal(betas[0], 1e-4);
  assert.ok(Math.abs(betas[999]! - 0.02) < 1e-15);
  const scaled = scheduleBetas(parseSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 }, 'c'));
  assert.ok(Math.abs(scaled[0]! - 0.00085) < 1e-15 && Math.abs(scaled[999]! - 0.012) < 1e-15);
  assert.ok(Math.abs(scaled[500]! - (Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) * 500 / 999) ** 2) < 1e-15);
  const cosine = scheduleBetas(parseSchedulerConfig({ beta_schedule: 'squaredcos_cap_v2' }, 'c'));
  assert.equal(cosine[999], 0.999);
  // alphas_cumprod[k] of diffusers is the process's alphaBar at t = (k + 1)/N, and timestep k is fed there.
  const process = scheduleProcess(linear);
  let alphaBar = 1;
  for (let k = 0; k < 1000; k++) {
    alphaBar *= 1 - betas[k]!;
    if (k % 111 === 0) assert.ok(Math.abs(process.alpha((k + 1) / 1000) ** 2 - alphaBar) < 1e-12, `k = ${k}`);
  }
  assert.equal(timestepAt(linear, 0.5), 499);
  assert.equal(timestepAt(linear, 0), 0);
  const explicit = parseSchedulerConfig({ trained_betas: Array.from(betas), num_train_timesteps: 1000, prediction_type: 'v_prediction' }, 'c');
  assert.deepEqual(scheduleBetas(explicit), betas);
  assert.equal(explicit.prediction, 'v');
});

test('scheduler configs that cannot work are refused with a reason', () => {
  const refuse = (config: unknown, message: RegExp) => assert.throws(() => parseSchedulerConfig(config, 'scheduler_config.json'), message);
  refuse({ beta_schedule: 'karras' }, /unknown beta_schedule 'karras'/);
  refuse({ prediction_type: 'flow' }, /unknown prediction type 'flow'/);
  refuse({ rescale_betas_zero_snr: true }, /zero signal/);
  refuse({ num_train_timesteps: 1.5 }, /num_train_timesteps must be an integer/);
  refuse({ trained_betas: [0.1, 2], num_train_timesteps: 2 }, /trained_betas must hold/);
  refuse([1, 2], /must be a JSON object/);
  refuse({ beta_start: 0.5, beta_end: 0.1 }, /beta_start <= beta_end/);
});
