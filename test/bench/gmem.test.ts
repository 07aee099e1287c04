import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type GmemRow, benchGmem, cachedGmemRows, gmemCharts, runSnapshots } from '../../src/bench/gmem.js';
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
    for (const [name, cond, steps] of [['gmem', 'memory', '2'], ['class', 'class', '2']] as const) {
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
    assert.deepEqual(rows.map((r) => [r.run, r.images, r.n, r.real_sets, r.guidance]), [['gmem', 4, 6, 2, 1], ['gmem', 8, 8, 2, 1], ['class', 4, 6, 2, 1], ['class', 4, 6, 2, 2], ['class', 8, 8, 2, 1], ['class', 8, 8, 2, 2]]);
    for (const row of rows) {
      assert.ok(row.fd > 0 && row.fd_std >= 0 && row.fd_floor > 0 && row.accuracy !== null && row.accuracy >= 0 && row.accuracy <= 1, JSON.stringify(row));
      assert.equal(row.nfe, row.guidance === 1 ? 1 : 2);
    }
    assert.deepEqual(outOfBank?.map((r) => [r.run, r.step, r.n, r.start]), [['gmem', 2, 4, 16]]);
    assert.ok(outOfBank![0]!.accuracy >= 0 && outOfBank![0]!.accuracy <= 1 && outOfBank![0]!.nfe === 1);
    const again = await benchGmem(settings);
    assert.deepEqual(again.rows, rows);
    assert.equal(again.out_of_bank, undefined);
    // Guided rows only at the last snapshot, at other sampler steps: the unguided rows come from the cache.
    const lastOnly = await benchGmem({ ...settings, runs: [settings.runs[1]!], guidedLast: true, guidedSteps: 2 });
    assert.deepEqual(lastOnly.rows.map((r) => [r.images, r.guidance, r.steps, r.nfe]), [[4, 1, 1, 1], [8, 1, 1, 1], [8, 2, 2, 4]]);
    assert.deepEqual(lastOnly.rows.slice(0, 2), rows.filter((r) => r.run === 'class' && r.guidance === 1));
    // The report from the cache alone (the run directories may be gone): the same rows, the later guided rows at other steps left out.
    assert.deepEqual(cachedGmemRows(settings), rows);
    assert.throws(() => cachedGmemRows({ ...settings, runs: [{ name: 'gone', dir: '' }] }), /holds no rows of run 'gone'/);
    assert.throws(() => cachedGmemRows({ ...settings, finalN: 7 }), /holds run 'gmem' at step 2 but not at n = 7/);
    const corrupt = join(dir, 'corrupt.jsonl');
    await writeFile(corrupt, `${JSON.stringify(rows[0])}\n{"run": "gmem", "st\n`);
    assert.throws(() => cachedGmemRows({ ...settings, cache: corrupt }), /the row cache '.*corrupt\.jsonl' is not JSON lines: line 2 does not parse/);
    const cachedWithBank = await hasten('bench', 'gmem', '--cached', '--cache', settings.cache, '--run', 'gmem', '--bank', `gmem=${bank}`);
    assert.equal(cachedWithBank.code, 2);
    assert.match(cachedWithBank.err.join('\n'), /--bank samples the runs: drop --cached/);
    const report = await hasten('bench', 'gmem', '--cached', '--cache', settings.cache, '--run', 'gmem', '--run', 'class', '--n', '6', '--final-n', '8', '--sampler', 'rf-euler', '--steps', '1',
      '--guidance', '1,2', '--real-sets', '2', '--json');
    assert.equal(report.code, 0, report.err.join('\n'));
    assert.deepEqual((JSON.parse(report.out.join('\n')) as { rows: GmemRow[] }).rows, rows);
    // A switch row: the gmem run sampled with a compressed bank (two k-means entries) through the CLI's --bank.
    assert.equal((await hasten('gmem', 'bank', '--from', bank, '--kmeans', '2', '--out', join(dir, 'bank-kmeans2'))).code, 0);
    const cli = ['bench', 'gmem', '--run', `gmem-kmeans2=${join(dir, 'gmem')}`, '--n', '6', '--final-n', '8', '--sampler', 'rf-euler', '--steps', '1', '--batch', '8', '--real-sets', '2', '--json'];
    const compressed = await hasten(...cli, '--bank', `gmem-kmeans2=${join(dir, 'bank-kmeans2')}`);
    assert.equal(compressed.code, 0, compressed.err.join('\n'));
    const own = JSON.parse((await hasten(...cli)).out.join('\n')) as { rows: GmemRow[] };
    const switched = JSON.parse(compressed.out.join('\n')) as { rows: GmemRow[] };
    assert.deepEqual(switched.rows.map((r) => [r.run, r.images]), [['gmem-kmeans2', 4], ['gmem-kmeans2', 8]]);
    assert.notEqual(switched.rows[1]!.fd, own.rows[1]!.fd, 'two centroids condition the samples differently from the 32-snippet bank');
    const unknown = await hasten(...cli, '--bank', `other=${join(dir, 'bank-kmeans2')}`);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err.join('\n'), /--bank names run 'other', which no --run gives/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bench gmem charts: a line per run and weight, and the best guided FD at the last snapshot as a level line', () => {
  const row = (run: string, step: number, guidance: number, fd: number, nfe = 15): GmemRow => ({
    run, step, images: step * 64, n: 1000, real_sets: 5, fd, fd_std: 0.1, fd_floor: 0.2, accuracy: 0.5, nfe, guidance, sampler: 'heun', steps: 8, select: null, seconds: 1,
  });
  const rows = [row('gmem', 400, 1, 40), row('gmem', 800, 1, 20), row('class', 400, 1, 45), row('class', 800, 1, 30), row('class', 800, 2, 9, 14), row('class', 800, 3, 12, 14)];
  const { fd, accuracy } = gmemCharts(rows);
  for (const name of ['gmem', 'class', 'class, best guided (w 2, 14 NFE)']) assert.ok(fd.includes(`>${name}<`), name);
  assert.ok(!fd.includes('class, guidance 2<'), 'a single guided point is a level line, not a curve');
  assert.ok(!fd.includes('w 3'), 'only the best weight is drawn');
  assert.ok(accuracy.includes('>gmem<') && !accuracy.includes('best guided'));
});
