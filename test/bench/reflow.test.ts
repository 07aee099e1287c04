import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type ReflowBenchSettings, parseSamplerChoice, runReflowBench } from '../../src/bench/reflow.js';
import { PAIR_DEFAULTS } from '../../src/reflow/pairs.js';
import { tinyTeacher } from '../reflow/helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-bench-reflow-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('bench reflow: teacher rows at each NFE, two students at 1 and 2 NFE, swd for points; a rerun reuses the students and the measurements', async () => {
  const settings: ReflowBenchSettings = {
    teacher: await tinyTeacher(scratch),
    work: join(scratch, 'work'),
    pairs: { ...PAIR_DEFAULTS, sampler: 'euler', steps: 4, count: 64, shardSize: 64 },
    training: { steps: 2, batch: 16, warmup: 1, checkpointEvery: 2 },
    configs: ['baseline', 'perceptual-huber-divt'],
    n: 50,
    seed: 0,
    batch: 50,
    teacherNfes: [1, 3],
    teacherSamplers: ['heun', 'rf-euler@rf'].map(parseSamplerChoice),
    studentSamplers: [{ sampler: 'rf-euler', steps: 1 }, { sampler: 'rf-new', steps: 2 }],
    straightness: { steps: 4, n: 16, seed: 0, batch: 16 },
    lossByTime: { bins: 3, count: 16, batch: 16 },
  };
  const logged: string[] = [];
  const result = await runReflowBench(settings, (m) => logged.push(m));
  assert.deepEqual(result.rows.map((r) => [r.config, r.sampler, r.nfe]), [
    ['teacher', result.rows[0]!.sampler, 1], ['teacher', result.rows[1]!.sampler, result.rows[1]!.nfe],
    ['baseline', 'rf-euler', 1], ['baseline', 'rf-new', 2], ['perceptual-huber-divt', 'rf-euler', 1], ['perceptual-huber-divt', 'rf-new', 2],
  ]);
  assert.ok(result.rows[1]!.nfe <= 3);
  // The best teacher row at 3 NFE is the best of every candidate within 3 NFE.
  const within3 = result.teacher_candidates.filter((r) => r.nfe <= 3).map((r) => r.swd!);
  assert.equal(result.rows[1]!.swd, Math.min(...within3));
  for (const row of result.rows) {
    assert.equal(row.fd, undefined);
    assert.ok(row.swd! > 0 && row.straightness > 0);
    assert.equal(row.accuracy, null);
  }
  assert.ok(result.floor.swd_floor! > 0);
  assert.deepEqual(Object.keys(result.loss_vs_t), ['teacher', 'baseline']);
  const rerun = await runReflowBench(settings, (m) => logged.push(m));
  assert.deepEqual(rerun.rows, result.rows);
  assert.equal(logged.filter((m) => /already trained, reused/.test(m)).length, 2);
  assert.equal(logged.filter((m) => /measured before with these settings, reused/.test(m)).length, 3);
  // Other evaluation settings measure again.
  logged.length = 0;
  const other = await runReflowBench({ ...settings, n: 40 }, (m) => logged.push(m));
  assert.equal(logged.filter((m) => /measured before/.test(m)).length, 0);
  assert.deepEqual(other.rows.map((r) => r.config), result.rows.map((r) => r.config));
  // A damaged saved measurement is measured again, with a line saying so.
  writeFileSync(join(settings.work, 'teacher-rows.json'), '{"key": ');
  logged.length = 0;
  const repaired = await runReflowBench(settings, (m) => logged.push(m));
  assert.equal(logged.filter((m) => /teacher-rows\.json: unreadable/.test(m)).length, 1);
  assert.deepEqual(repaired.rows.slice(0, 2), result.rows.slice(0, 2));
});
