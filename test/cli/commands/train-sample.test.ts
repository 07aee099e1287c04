import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hasten } from '../run-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('train then sample through the CLI', async () => {
  const run = join(scratch, 'moons');
  const trained = await hasten('train', '--data', 'toy2d:two-moons', '--model', 'mlp', '--model-config', '{"width":32,"depth":1}', '--steps', '3', '--batch', '16', '--out', run, '--json');
  assert.equal(trained.code, 0, trained.err.join('\n'));
  assert.equal(JSON.parse(trained.out[0]!).step, 3);
  const png = join(scratch, 'moons.png');
  const sampled = await hasten('sample', '--model', run, '--sampler', 'heun', '--steps', '5', '--n', '50', '--out', png, '--json');
  assert.equal(sampled.code, 0, sampled.err.join('\n'));
  const summary = JSON.parse(sampled.out[0]!);
  assert.equal(summary.nfe, 9, 'Heun with 5 steps costs 2*5-1 evaluations');
  assert.ok(summary.wall_s > 0);
  assert.ok(existsSync(png));
});

const usageErrors: [string, string[], RegExp][] = [
  ['unknown sampler', ['sample', '--model', 'x', '--sampler', 'warp', '--out', 'a.png'], /unknown sampler 'warp'/],
  ['missing model', ['sample', '--model', '/nonexistent/model', '--out', 'a.png'], /no model '\/nonexistent\/model'/],
  ['bad number', ['sample', '--model', 'x', '--steps', 'ten', '--out', 'a.png'], /--steps expects an integer >= 1, got 'ten'/],
  ['missing output', ['sample', '--model', 'x'], /--out FILE.png is required/],
  ['unknown dataset', ['train', '--data', 'mnist', '--out', 'o'], /unknown dataset|mnist/],
  ['unknown objective', ['train', '--data', 'toy2d:two-moons', '--model', 'mlp', '--objective', 'gan', '--out', 'o'], /unknown objective 'gan'/],
  ['unknown flag', ['train', '--data', 'shapes', '--speed', 'fast'], /Unknown option '--speed'/],
  ['class on an unlabelled dataset', ['train', '--data', 'toy2d:checkerboard', '--model', 'mlp', '--cond', 'class', '--out', 'o'], /has no class labels/],
];

for (const [what, argv, message] of usageErrors) {
  test(`CLI: ${what} is one line and exit code 2`, async () => {
    const { code, err } = await hasten(...argv);
    assert.equal(code, 2);
    assert.equal(err.length, 1, `expected one line, got ${JSON.stringify(err)}`);
    assert.match(err[0]!, message);
    assert.doesNotMatch(err[0]!, /\n\s+at /, 'no stack trace');
  });
}
