import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hasten } from '../run-cli.js';

const usage = async (pattern: RegExp, ...argv: string[]): Promise<void> => {
  const { code, err } = await hasten(...argv);
  assert.equal(code, 2, argv.join(' '));
  assert.match(err.join('\n'), pattern);
};

test('hasten compress: bad input is one usage error naming it', async () => {
  const out = mkdtempSync(join(tmpdir(), 'hasten-compress-cli-'));
  try {
    await usage(/--out DIR is required/, 'compress', '--teacher', 'shapes', '--preset', 'bk-base');
    await usage(/exactly one of --remove P,P,... and --preset NAME/, 'compress', '--teacher', 'shapes', '--out', out);
    await usage(/--preset must be one of bk-base, bk-small, got 'tiny'/, 'compress', '--teacher', 'shapes', '--preset', 'tiny', '--out', out);
    await usage(/"enc.1.0", which this config cannot remove \(removable: enc.0.0,/, 'compress', '--teacher', 'shapes', '--remove', 'enc.1.0', '--out', out);
    await usage(/--schedule must be one of oneshot, incubate/, 'compress', '--teacher', 'shapes', '--remove', 'mid', '--schedule', 'slow', '--out', out);
    await usage(/--resume: no compress.json/, 'compress', '--out', out, '--resume');
    await usage(/no model 'nothing'/, 'compress', '--teacher', 'nothing', '--remove', 'mid', '--out', out);
    // A folder holding a training run is not written into; settings given with --resume are refused, not ignored.
    mkdirSync(join(out, 'checkpoint'));
    await usage(/already holds a run \(checkpoint\): continue it with --resume, or replace it with --overwrite/, 'compress', '--teacher', 'shapes', '--remove', 'mid', '--out', out);
    assert.ok(!existsSync(join(out, 'compress.json')));
    writeFileSync(join(out, 'compress.json'), JSON.stringify({ teacher: 'nothing' }));
    await usage(/--steps, --lr cannot be given with --resume: the run continues with the settings in its compress.json/, 'compress', '--out', out, '--resume', '--steps', '5', '--lr', '1e-3');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('hasten compress: a short job on the shipped teacher writes a student that sample --switch runs', async () => {
  const out = mkdtempSync(join(tmpdir(), 'hasten-compress-cli-'));
  try {
    const { code, out: printed } = await hasten('compress', '--teacher', 'shapes', '--remove', 'dec.0.up.res,mid', '--out', out, '--steps', '1', '--batch', '2', '--feature-weight', '0', '--json');
    assert.equal(code, 0);
    const summary = JSON.parse(printed.at(-1)!);
    assert.ok(summary.gflops < summary.teacher_gflops && summary.params < summary.teacher_params);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'compress.json'), 'utf8')).remove, ['dec.0.up.res', 'mid']);
    const grid = join(out, 'grid.png');
    const sampled = await hasten('sample', '--model', 'shapes', '--switch', `${out}@sigma>2`, '--steps', '3', '--n', '2', '--out', grid, '--json');
    assert.equal(sampled.code, 0);
    assert.equal(JSON.parse(sampled.out.at(-1)!).nfe, 5);
    await usage(/--switch: switch 'x@t>1': expected MODEL@sigma>A/, 'sample', '--model', 'shapes', '--switch', 'x@t>1', '--out', grid);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('hasten analyze redundancy: needs a U-Net, and --resume needs --out', async () => {
  await usage(/--resume needs --out DIR/, 'analyze', 'redundancy', '--model', 'shapes', '--resume');
  await usage(/model 'toy2d' is a mlp; removing blocks needs a U-Net/, 'analyze', 'redundancy', '--model', 'toy2d');
});
