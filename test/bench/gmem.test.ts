import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { benchGmem, runSnapshots } from '../../src/bench/gmem.js';
import { saveEncoder } from '../../src/gmem/encoder.js';
import { tinyEncoder } from '../gmem/helpers.js';
import { hasten } from '../cli/run-cli.js';

test('bench gmem: one row per snapshot and guidance, memory accuracy against the snippets\' sources, cached rows reused', async () => {
  process.env.HASTEN_ORT_SPIN = '0';
  const dir = await mkdtemp(join(tmpdir(), 'hasten-bench-gmem-'));
  try {
    const encoder = await tinyEncoder(join(dir, 'encoder-run'), 6, 32);
    await saveEncoder(join(dir, 'encoder'), encoder);
    await encoder.dispose();
    const bank = join(dir, 'bank');
    assert.equal((await hasten('gmem', 'bank', '--encoder', join(dir, 'encoder'), '--data', 'shapes', '--n', '16', '--mirrored', '--out', bank)).code, 0);
    const model = JSON.stringify({ patchSize: 8, width: 16, depth: 1, heads: 2 });
    for (const [name, cond, steps] of [['gmem', 'memory', '2'], ['class', 'class', '1']] as const) {
      const trained = await hasten('train', '--data', 'shapes', '--arch', 'dit', '--arch-config', model, '--objective', 'rf', '--cond', cond, '--bank', bank,
        '--steps', steps, '--batch', '4', '--snapshot-every', '1', '--out', join(dir, name));
      assert.equal(trained.code, 0, trained.err.join('\n'));
    }
    assert.deepEqual(runSnapshots(join(dir, 'gmem')).map((s) => s.step), [1, 2]);
    const settings = {
      runs: [{ name: 'gmem', dir: join(dir, 'gmem') }, { name: 'class', dir: join(dir, 'class') }],
      n: 6, finalN: 8, sampler: 'rf-euler', steps: 1, guidance: [1, 2], memoryGuidance: false, select: 'uniform' as const, seed: 0, batch: 8, realSets: 2, cache: join(dir, 'rows.jsonl'),
    };
    const { rows, out_of_bank: outOfBank } = await benchGmem({ ...settings, outOfBank: 4 });
    assert.deepEqual(rows.map((r) => [r.run, r.images, r.n, r.real_sets, r.guidance]), [['gmem', 4, 6, 2, 1], ['gmem', 8, 8, 2, 1], ['class', 4, 8, 2, 1], ['class', 4, 8, 2, 2]]);
    for (const row of rows) {
      assert.ok(row.fd > 0 && row.fd_std >= 0 && row.fd_floor > 0 && row.accuracy !== null && row.accuracy >= 0 && row.accuracy <= 1, JSON.stringify(row));
      assert.equal(row.nfe, row.guidance === 1 ? 1 : 2);
    }
    assert.deepEqual(outOfBank?.map((r) => [r.run, r.step, r.n, r.start]), [['gmem', 2, 4, 16]]);
    assert.ok(outOfBank![0]!.accuracy >= 0 && outOfBank![0]!.accuracy <= 1 && outOfBank![0]!.nfe === 1);
    const again = await benchGmem(settings);
    assert.deepEqual(again.rows, rows);
    assert.equal(again.out_of_bank, undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
