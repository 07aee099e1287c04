import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hasten } from '../cli/run-cli.js';
import { tinyTeacher } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-reflow-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let teacher: string;
const pairs = join(scratch, 'pairs');
const student = join(scratch, 'student');

before(async () => {
  teacher = await tinyTeacher(scratch);
});

test('pairs, train, sample at 1 NFE and diagnose through the CLI', async () => {
  const made = await hasten('reflow', 'pairs', '--teacher', teacher, '--sampler', 'euler', '--steps', '4', '--n', '64', '--shard-size', '32', '--out', pairs, '--json');
  assert.equal(made.code, 0, made.err.join('\n'));
  assert.deepEqual(JSON.parse(made.out[0]!), { ...JSON.parse(made.out[0]!), pairs: 64, shards: 2, generated: 2, reused: 0, nfe: 4 });
  const unasked = await hasten('reflow', 'pairs', '--teacher', teacher, '--sampler', 'euler', '--steps', '4', '--n', '64', '--shard-size', '32', '--out', pairs, '--json');
  assert.notEqual(unasked.code, 0);
  assert.match(unasked.err[0]!, /already holds reflow pairs \(manifest\.json\): continue it with --resume, or replace it with --overwrite/);
  const again = await hasten('reflow', 'pairs', '--teacher', teacher, '--sampler', 'euler', '--steps', '4', '--n', '64', '--shard-size', '32', '--out', pairs, '--resume', '--json');
  assert.equal(JSON.parse(again.out[0]!).reused, 2, 'a finished directory is reused, not regenerated');
  const trained = await hasten('reflow', 'train', '--pairs', pairs, '--steps', '3', '--batch', '16', '--out', student, '--json');
  assert.equal(trained.code, 0, trained.err.join('\n'));
  assert.equal(JSON.parse(trained.out[0]!).step, 3);
  const sampled = await hasten('sample', '--model', student, '--sampler', 'rf-euler', '--steps', '1', '--n', '8', '--out', join(scratch, 'one-step.png'), '--json');
  assert.equal(sampled.code, 0, sampled.err.join('\n'));
  assert.equal(JSON.parse(sampled.out[0]!).nfe, 1);
  const diagnosed = await hasten('reflow', 'diagnose', '--model', student, '--pairs', pairs, '--n', '16', '--steps', '4', '--round-trip-n', '8', '--round-trip-steps', '4', '--bins', '4', '--loss-pairs', '16', '--json');
  assert.equal(diagnosed.code, 0, diagnosed.err.join('\n'));
  const report = JSON.parse(diagnosed.out[0]!);
  assert.ok(report.straightness > 0 && report.round_trip_rms > 0);
  assert.equal(report.loss_vs_t.length, 4);
});

const usageErrors: [string, string[], RegExp][] = [
  ['pairs without --out', ['reflow', 'pairs', '--teacher', 'toy2d', '--n', '5'], /--out DIR is required/],
  ['pairs without --n', ['reflow', 'pairs', '--teacher', 'toy2d', '--out', 'x'], /--n COUNT is required/],
  ['pairs with an unknown teacher', ['reflow', 'pairs', '--teacher', '/nonexistent/teacher', '--n', '5', '--out', 'x'], /no model '\/nonexistent\/teacher'/],
  ['pairs with an unknown sampler', ['reflow', 'pairs', '--teacher', 'toy2d', '--sampler', 'warp', '--n', '5', '--out', 'x'], /unknown sampler 'warp'/],
  ['train without pairs', ['reflow', 'train', '--out', 'x'], /--pairs DIR is required/],
  ['train on a directory without pairs', ['reflow', 'train', '--pairs', '/nonexistent/pairs', '--out', 'x'], /holds no reflow pairs/],
  ['train with an unknown loss', ['reflow', 'train', '--pairs', pairs, '--loss', 'lpips', '--out', 'x'], /--loss must be one of l2, pseudo-huber, perceptual-huber, got 'lpips'/],
  ['train with an unknown time distribution', ['reflow', 'train', '--pairs', pairs, '--time', 'beta', '--out', 'x'], /unknown time distribution 'beta'/],
  ['train with a zero time epsilon', ['reflow', 'train', '--pairs', pairs, '--time-epsilon', '0', '--out', 'x'], /time epsilon must be > 0/],
  ['train with a feature network on points', ['reflow', 'train', '--pairs', pairs, '--features', 'models/features-shapes', '--steps', '1', '--out', join(scratch, 'f')], /dataset of points: it has no feature network/],
  ['resuming a run that is not reflow', ['reflow', 'train', '--resume', '--out', join(scratch, 'teacher')], /not a reflow run/],
  ['diagnose a plot without pairs', ['reflow', 'diagnose', '--model', 'toy2d', '--plot', 'x.svg'], /needs --pairs DIR/],
  ['bench without --work', ['bench', 'reflow'], /--work DIR is required/],
  ['bench with an unknown config', ['bench', 'reflow', '--work', 'x', '--configs', 'baseline,magic'], /unknown ablation config 'magic'/],
];

for (const [what, argv, message] of usageErrors) {
  test(`CLI: ${what} is one line and exit code 2`, async () => {
    const { code, err } = await hasten(...argv);
    assert.equal(code, 2, err.join('\n'));
    assert.equal(err.length, 1, `expected one line, got ${JSON.stringify(err)}`);
    assert.match(err[0]!, message);
    assert.doesNotMatch(err[0]!, /\n\s+at /, 'no stack trace');
  });
}

test('reflow pairs counts in words: 1 pair, 1 shard', async () => {
  const { code, out } = await hasten('reflow', 'pairs', '--teacher', teacher, '--sampler', 'euler', '--steps', '1', '--n', '1', '--shard-size', '1', '--out', join(scratch, 'one-pair'));
  assert.equal(code, 0);
  assert.match(out.at(-1)!, /^finished: 1 of 1 pair in .* \(1 shard generated, 0 found finished; 1 teacher evaluation per pair\)$/);
});
