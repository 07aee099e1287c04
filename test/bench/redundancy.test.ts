import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redundancy, redundancyChart } from '../../src/bench/redundancy.js';
import { moduleFlops } from '../../src/models/flops.js';
import type { UNet } from '../../src/models/unet.js';
import { randomFeatureNet, tinyTeacher } from '../compress/helpers.js';

const trained = tinyTeacher();
const model = trained.model as UNet;
const settings = { noiseLevels: [0.1, 2], levelN: 3, sampler: 'euler', steps: 2, n: 3, timingBatch: 2, timingRepeats: 1 };

test('redundancy: each removal against the full model, ranked by the end result, with its FLOPs saved', async () => {
  const featureNet = randomFeatureNet();
  try {
    const modules = ['mid', 'enc.1.0.attn', 'dec.0.1'];
    const seen: string[] = [];
    const result = await redundancy(trained, { ...settings, modules }, { featureNet, onRow: (row, done, total) => seen.push(`${row.path} ${done}/${total}`) });
    assert.deepEqual(seen, ['mid 1/3', 'enc.1.0.attn 2/3', 'dec.0.1 3/3']);
    assert.deepEqual(result.full.rmse_by_level, [0, 0]);
    assert.equal(result.full.rmse_sample, 0);
    assert.deepEqual([...result.rows.map((r) => r.path)].sort(), [...modules].sort());
    for (let i = 1; i < result.rows.length; i++) assert.ok(result.rows[i - 1]!.rmse_sample <= result.rows[i]!.rmse_sample, 'cheapest first');
    const teacherFlops = moduleFlops(model).total;
    for (const row of result.rows) {
      assert.equal(row.rmse_by_level.length, 2);
      assert.ok(row.rmse_sample > 0 && row.rmse_by_level.every((v) => v > 0), row.path);
      assert.ok(row.params < result.full.params);
      assert.ok(Math.abs(row.flops_saved - (1 - (row.gflops * 1e9) / teacherFlops)) < 1e-12 && row.flops_saved > 0, row.path);
      assert.ok(Number.isFinite(row.fd) && row.wall_speedup > 0);
    }
    // Resuming: rows measured before are kept, not measured again.
    const again: string[] = [];
    const resumed = await redundancy(trained, { ...settings, modules }, { featureNet, previous: result.rows.slice(0, 2), onRow: (row) => again.push(row.path) });
    assert.equal(again.length, 1);
    assert.deepEqual(resumed.rows.map((r) => r.path).sort(), [...modules].sort());
    assert.match(redundancyChart(result), /^<svg[\s\S]*dec\.0\.1 \(bypass\)[\s\S]*<\/svg>\n$/);
  } finally {
    await featureNet.dispose();
  }
});

test('redundancy: a module the model cannot remove is named with the removable ones', async () => {
  await assert.rejects(redundancy(trained, { ...settings, modules: ['enc.1.0'] }), /cannot remove 'enc.1.0' \(removable: enc.0.0, /);
});
