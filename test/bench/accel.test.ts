import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { type AccelBenchSettings, parseBenchConfig, runAccelBench } from '../../src/bench/accel.js';
import { THIS_BUILD } from '../../src/bench/side-by-side.js';
import { OnnxSession } from '../../src/engine/runtime.js';
import { createModel } from '../../src/models/registry.js';
import type { SamplingTarget } from '../../src/pipeline/generate.js';
import type { TrainedModel } from '../../src/pipeline/model-store.js';
import { objectiveSettings } from '../../src/train/objectives.js';
import { TRAIN_DEFAULTS } from '../../src/train/trainer.js';
import { hasten } from '../cli/run-cli.js';
import { randomParams } from '../models/helpers.js';

/** A random class-conditional U-Net on shapes at 16x16, where no shipped feature network fits. */
function tinyTrained(): TrainedModel {
  const model = createModel({
    arch: 'unet', resolution: 16, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1,
    attentionResolutions: [8], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, textWidth: 16, numClasses: 8,
  });
  const config = { ...TRAIN_DEFAULTS, data: 'shapes', resolution: 16, model: model.config, objective: objectiveSettings('edm'), cond: 'class' as const, dataShape: [3, 16, 16], classNames: null };
  return { name: 'tiny', location: '', model, params: randomParams(model, 0), config, saveId: 'random' };
}

const trained = tinyTrained();
const small: Partial<AccelBenchSettings> = { steps: 4, n: 3, batch: 3, timingN: 2, repeats: 1, sweepNfe: [], configs: [] };

test('rows: plain first with speedup 1 and no drift; caching runs fewer FLOPs; FD null without a feature network', async () => {
  const configs = ['plain', 'deepcache every=2,branch=0', 'encoder-propagation every=2', 'skip-tuning 0.8'].map(parseBenchConfig);
  const result = await runAccelBench(trained, { ...small, configs });
  assert.deepEqual(result.rows.map((r) => r.method), ['plain', 'deepcache', 'encoder-propagation', 'skip-tuning'], 'the plain row is not repeated');
  for (const row of result.rows) {
    assert.deepEqual(Object.keys(row), ['method', 'config', 'sampler', 'nfe', 'wall_s', 'speedup', 'gflops', 'flop_speedup', 'flop_speedup_realised', 'fd', 'accuracy', 'rmse_to_plain']);
    assert.equal(row.sampler, 'ddim');
    assert.equal(row.nfe, 4);
    for (const key of ['wall_s', 'speedup', 'gflops', 'flop_speedup', 'flop_speedup_realised', 'rmse_to_plain'] as const) assert.ok(Number.isFinite(row[key]) && row[key] >= 0, `${row.config}: ${key} = ${row[key]}`);
    assert.equal(row.fd, null);
    assert.equal(row.accuracy, null);
    assert.deepEqual(parseBenchConfig(row.config), configs[result.rows.indexOf(row)], 'the config column reads back as --config');
  }
  const [plain, deepcache, encoder, skipTuning] = result.rows;
  assert.equal(plain!.speedup, 1);
  assert.equal(plain!.rmse_to_plain, 0);
  assert.ok(deepcache!.gflops < plain!.gflops && encoder!.gflops < plain!.gflops);
  assert.ok(deepcache!.flop_speedup > 1);
  assert.ok(Math.abs(skipTuning!.gflops / plain!.gflops - 1) < 1e-2, 'Skip-Tuning only adds the multiplies of the skip factors');
  assert.ok(skipTuning!.rmse_to_plain > 0);
  assert.equal(result.fd_floor, null);
  assert.deepEqual(result.sweep, []);
});

test('the sweep runs every factor and NFE on one compiled network', async () => {
  const sessions = async (sweepFactors: number[], sweepNfe: number[]): Promise<{ created: number; points: number }> => {
    const create = mock.method(OnnxSession, 'create');
    try {
      const result = await runAccelBench(trained, { ...small, sweepFactors, sweepNfe });
      assert.deepEqual(result.sweep.map((p) => [p.nfe, p.factor]), sweepNfe.flatMap((nfe) => sweepFactors.map((factor) => [nfe, factor])));
      return { created: create.mock.callCount(), points: result.sweep.length };
    } finally {
      create.mock.restore();
    }
  };
  const one = await sessions([1], [2]);
  const grid = await sessions([0.5, 0.8, 1], [2, 3]);
  assert.ok(one.created > 0, 'sessions are counted');
  assert.equal(grid.points, 6);
  assert.equal(grid.created, one.created, 'more sweep points compile nothing more');
});

test('CLI: bad input is a one-line usage error before any sampling', async () => {
  const cases: [string[], RegExp][] = [
    [['--model', 'shapes', '--config', 'warp every=2'], /unknown method 'warp'/],
    [['--model', 'shapes', '--config', 'deepcache every=2 + encoder-propagation every=3'], /cannot be combined/],
    [['--model', 'shapes', '--config', 'feature-inheritance modules=nope,every=2'], /no module matches 'nope'/],
    [['--model', 'shapes', '--sweep-factors', '0.5,0'], /--sweep-factors: values must be > 0/],
    [['--model', 'shapes', '--sweep-rho', '0.5'], /--sweep-rho was renamed: use --sweep-factors/],
    [['--model', 'shapes', '--sampler', 'warp'], /unknown sampler 'warp'/],
    [['--config', 'plain'], /--model NAME\|PATH is required/],
    [['--model', 'shapes', '--baseline', '/nonexistent/hasten'], /--baseline: '\/nonexistent\/hasten' is not a built hasten checkout/],
  ];
  for (const [argv, message] of cases) {
    const { code, err } = await hasten('bench', 'accel', ...argv);
    assert.equal(code, 2, argv.join(' '));
    assert.equal(err.length, 1, JSON.stringify(err));
    assert.match(err[0]!, message);
  }
});

test('a baseline build is timed beside this one: the same build gives the same FLOPs and samples bit for bit', async () => {
  const configs = ['plain', 'deepcache every=2,branch=0', 'feature-inheritance modules=mid,every=2'].map(parseBenchConfig);
  const result = await runAccelBench(trained, { ...small, configs, baseline: THIS_BUILD });
  assert.equal(result.baseline, THIS_BUILD);
  for (const row of result.rows) {
    const b = row.baseline!;
    assert.deepEqual(Object.keys(b), ['wall_s', 'speedup', 'gflops', 'flop_speedup', 'flop_speedup_realised', 'same_samples']);
    assert.equal(b.same_samples, true, `${row.config}: the same code samples the same images`);
    assert.ok(Math.abs(b.gflops / row.gflops - 1) < 1e-9, `${row.config}: ${b.gflops} vs ${row.gflops} GFLOP per image`);
    assert.ok(Number.isFinite(b.wall_s) && b.wall_s > 0 && Number.isFinite(b.flop_speedup_realised));
  }
  assert.equal(result.rows[0]!.baseline!.speedup, 1);
  assert.ok(result.rows[1]!.baseline!.flop_speedup > 1);
  const plain = await runAccelBench(trained, { ...small, configs });
  assert.equal(plain.baseline, undefined);
  assert.ok(plain.rows.every((row) => row.baseline === undefined), 'no baseline: the rows are as before');
  // An imported model has no hasten config for the baseline's code to build: refused before any network is built.
  const imported = { name: 'imported-unet', network: () => assert.fail('no network is built') } as unknown as SamplingTarget;
  await assert.rejects(runAccelBench(imported, { ...small, baseline: THIS_BUILD }), /a baseline build times hasten models; 'imported-unet' is an imported model/);
});
