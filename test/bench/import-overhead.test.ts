import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runImportOverheadBench } from '../../src/bench/import-overhead.js';
import { importedFixture } from '../import/fixtures.js';

test('bench import: hasten and the direct loop draw the same samples; DeepCache is timed against its FLOPs, call by call', async () => {
  const imported = await importedFixture('ddpm-unet2d');
  const result = await runImportOverheadBench(imported, { steps: 3, n: 2, repeats: 1, seed: 0, deepcache: 'every=2,branch=0' });
  assert.ok(result.max_abs_difference <= 1e-5 * result.max_abs_sample, `${result.max_abs_difference} of ${result.max_abs_sample}`);
  assert.equal(result.rounds.length, 1);
  const dc = result.deepcache!;
  // Steps 0 and 2 are key steps: two full calls and one reuse per run.
  const { flops, cut_flops: cut } = imported.record.analysis!;
  assert.ok(Math.abs(dc.flop_speedup - (3 * flops.total) / (2 * flops.total + cut.deepcache[0]!)) < 1e-9);
  assert.ok(Math.abs(dc.call_flop_speedup - flops.total / cut.deepcache[0]!) < 1e-9);
  for (const value of [dc.speedup, dc.realised, dc.call_speedup, dc.calls.full_call_ms, dc.calls.reuse_call_ms!].flatMap((v) => [v.wall, v.cpu]).concat(dc.predicted_speedup)) assert.ok(Number.isFinite(value) && value > 0);
  assert.ok(dc.calls.outside_calls >= 0 && dc.calls.outside_calls < 1);
  await assert.rejects(runImportOverheadBench(imported, { steps: 3, n: 2, repeats: 1, seed: 0, deepcache: 'every=2,branch=9' }), /branch must be a skip index in 0\.\.3/);
});
