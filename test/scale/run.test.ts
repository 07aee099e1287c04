import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openDataset } from '../../src/data/registry.js';
import { type MemoryBank, buildBank } from '../../src/gmem/bank.js';
import { evaluateModel } from '../../src/pipeline/evaluate-model.js';
import { generate } from '../../src/pipeline/generate.js';
import { loadTrainedModel } from '../../src/pipeline/model-store.js';
import { generatePairs } from '../../src/reflow/pairs.js';
import { InProcessExecutor } from '../../src/scale/executor.js';
import { runSharded } from '../../src/scale/run.js';
import type { SamplingSettings } from '../../src/scale/jobs/sampling.js';
import { tinyTeacher } from '../reflow/helpers.js';
import { tinyEncoder } from '../gmem/helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-scale-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const executor = new InProcessExecutor();

// The shipped shapes model at 2 Euler steps: real images and the real feature network, in seconds.
export const shapesSettings: SamplingSettings = { model: 'shapes', sampler: 'euler', steps: 2, n: 12, seed: 3, batch: 2, guidance: 1, shardSize: 4 };

test('eval of images in shards equals the one-process evaluation bit for bit', async () => {
  const results = join(scratch, 'eval-images');
  const sharded = await runSharded<Record<string, unknown>>('eval', shapesSettings, { results, executor });
  assert.equal(sharded.shards, 3);
  const single = (await evaluateModel(await loadTrainedModel('shapes'), { ...shapesSettings })) as unknown as Record<string, unknown>;
  for (const key of ['fd', 'fd_floor', 'kid', 'kid_floor', 'accuracy', 'nfe', 'gflops_per_image'] as const) assert.equal(sharded.result[key], single[key], key);
  assert.deepEqual(sharded.result.class_accuracy, single.class_accuracy);
});

test('eval of points in shards equals the one-process evaluation; a second run computes nothing', async () => {
  const settings: SamplingSettings = { model: 'toy2d', sampler: 'heun', steps: 4, n: 40, seed: 1, batch: 8, guidance: 1, shardSize: 16 };
  const results = join(scratch, 'eval-points');
  const sharded = await runSharded<Record<string, unknown>>('eval', settings, { results, executor });
  const single = (await evaluateModel(await loadTrainedModel('toy2d'), settings)) as unknown as Record<string, unknown>;
  for (const key of ['swd', 'swd_floor', 'mmd', 'mmd_floor'] as const) assert.equal(sharded.result[key], single[key], key);
  let progress = 0;
  const again = await runSharded<Record<string, unknown>>('eval', settings, { results, executor: { description: 'none', run: async () => assert.fail('nothing to compute'), close: async () => undefined }, onProgress: (done) => { progress = done; } });
  assert.equal(again.reused, 3);
  assert.equal(progress, 40);
  assert.equal(again.result.swd, single.swd);
});

test('a sample grid in shards equals generate()', async () => {
  const settings: SamplingSettings = { model: 'toy2d', sampler: 'euler', steps: 3, n: 20, seed: 9, batch: 4, guidance: 1, shardSize: 8 };
  const sharded = await runSharded<Awaited<ReturnType<typeof generate>>>('grid', settings, { results: join(scratch, 'grid'), executor });
  const single = await generate(await loadTrainedModel('toy2d'), settings);
  assert.deepEqual(sharded.result.images.data, single.images.data);
  assert.deepEqual(sharded.result.labels, single.labels);
});

test('reflow pairs in shards: the directory generatePairs writes, byte for byte', async () => {
  const teacher = await tinyTeacher(scratch);
  const settings = { teacher, sampler: 'euler', steps: 3, guidance: 1, count: 10, seed: 5, shardSize: 4, batch: 3 };
  const single = join(scratch, 'pairs-single');
  await generatePairs(settings, single);
  const out = join(scratch, 'pairs-sharded');
  await runSharded('pairs', { ...settings, out }, { results: join(scratch, 'pairs-results'), executor });
  const files = readdirSync(single).sort();
  assert.deepEqual(readdirSync(out).sort(), files);
  for (const file of files) assert.ok(readFileSync(join(out, file)).equals(readFileSync(join(single, file))), `${file} differs`);
});

test('shards must hold whole batches', async () => {
  await assert.rejects(runSharded('grid', { ...shapesSettings, shardSize: 5 }, { results: join(scratch, 'bad'), executor }), /not a multiple of the batch size 2/);
});

test('the Skip-Tuning sweep of bench accel in shards equals the sweep in one process', async () => {
  const { runAccelBench, sweepGrid } = await import('../../src/bench/accel.js');
  const trained = await loadTrainedModel('shapes');
  const bench = { sampler: 'ddim', steps: 2, n: 4, batch: 4, timingN: 2, repeats: 1, configs: [], sweepNfe: [2], sweepFactors: [0.8, 1] };
  const single = await runAccelBench(trained, bench);
  const sharded = await runAccelBench(trained, bench, undefined, async (points) => {
    assert.deepEqual(points, sweepGrid([2], [0.8, 1]));
    const report = await runSharded<typeof single.sweep>('sweep', { model: 'shapes', sampler: 'ddim', n: 4, seed: 0, batch: 4, points, shardSize: 1 }, { results: join(scratch, 'sweep'), executor });
    assert.equal(report.shards, 2);
    return report.result;
  });
  assert.equal(single.sweep.length, 2);
  assert.ok(single.sweep.every((p) => p.fd !== null && p.accuracy !== null));
  assert.deepEqual(sharded.sweep, single.sweep);
});

test('a memory bank built in shards equals the one-process build, tensors and metadata', async () => {
  const encoderDir = join(scratch, 'encoder');
  const encoder = await tinyEncoder(encoderDir);
  const build = { encoderName: 'tiny', count: 30, start: 7, seed: 2, mirrored: true, batch: 5 };
  const single = await buildBank(encoder, openDataset('shapes', { resolution: 8 }), build);
  await encoder.dispose();
  const settings = { ...build, encoder: encoderDir, data: 'shapes', dataName: 'shapes', resolution: 8, shardSize: 10 };
  const sharded = await runSharded<MemoryBank>('bank', settings, { results: join(scratch, 'bank'), executor });
  assert.equal(sharded.shards, 3);
  assert.deepEqual(sharded.result.metadata, single.metadata);
  const tensors = single.tensors();
  assert.deepEqual([...sharded.result.tensors().keys()].sort(), [...tensors.keys()].sort());
  for (const [name, tensor] of sharded.result.tensors()) assert.deepEqual(tensor, tensors.get(name), name);
  await assert.rejects(runSharded('bank', { ...settings, shardSize: 12 }, { results: join(scratch, 'bank'), executor }), /not a multiple of the batch size 5/);
});
