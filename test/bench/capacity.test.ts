import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CAPACITY_BENCH_DEFAULTS, benchCapacity } from '../../src/bench/capacity.js';

test('bench capacity: rows for every batch and form, forms agree, and attention rows for full and GRI', async () => {
  const result = await benchCapacity({
    ...CAPACITY_BENCH_DEFAULTS,
    channels: 8, side: 4, experts: 2, batches: [1, 3], networkBatch: 2, window: 2, pool: 2, repeats: 1, layer: { heads: 2, headWidth: 4, side: 4 },
    networks: { tiny: { arch: 'dit', resolution: 8, patchSize: 2, width: 16, depth: 1, heads: 2, mlpRatio: 2 } },
  });
  assert.deepEqual(result.cond_conv.map((r) => `${r.batch}:${r.form}`), ['1:conv', '1:kernels', '1:outputs', '3:conv', '3:kernels', '3:outputs']);
  for (const row of result.cond_conv) {
    assert.ok(row.ms > 0 && row.gflops > 0);
    if (row.form !== 'conv') assert.ok(row.max_abs_diff! < 1e-5, `forms differ by ${row.max_abs_diff}`);
  }
  const outputs = result.cond_conv.find((r) => r.batch === 3 && r.form === 'outputs')!;
  const kernels = result.cond_conv.find((r) => r.batch === 3 && r.form === 'kernels')!;
  assert.ok(outputs.gflops > 1.5 * kernels.gflops, 'mixing outputs runs every expert');
  assert.deepEqual(result.attention.map((r) => `${r.network}:${r.attention}:${r.tokens}`), ['tiny:full:16', 'tiny:gri:16']);
  const [full, gri] = result.attention;
  assert.equal(full!.attention_speedup, 1);
  assert.ok(gri!.attention_gflops_share < full!.attention_gflops_share && full!.attention_gflops_share > 0);
  // The profiled layer: both attentions' kernel time by kind; only GRI pools (ReduceMean).
  assert.deepEqual(result.layer_profile.map((r) => r.attention), ['full', 'gri']);
  for (const row of result.layer_profile) assert.ok(row.ms > 0 && row.kernels_ms > 0 && row.kinds.some((k) => k.kind === 'matmul and attention' && k.ms > 0), row.attention);
  const ops = (row: (typeof result.layer_profile)[number]): string[] => row.kinds.flatMap((k) => Object.keys(k.ops));
  assert.ok(ops(result.layer_profile[1]!).includes('ReduceMean') && !ops(result.layer_profile[0]!).includes('ReduceMean'));
});

test('bench capacity: a GRI window that does not tile a network is refused before any timing', async () => {
  const seen: string[] = [];
  await assert.rejects(benchCapacity({
    ...CAPACITY_BENCH_DEFAULTS, window: 3, batches: [1], repeats: 1,
    networks: { tiny: { arch: 'dit', resolution: 8, patchSize: 2, width: 16, depth: 1, heads: 2, mlpRatio: 2 } },
  }, (what) => seen.push(what)), /the window side 3 does not tile the 4x4 token grid/);
  assert.deepEqual(seen, []);
});
