import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hasten } from '../run-cli.js';
import { decodePng } from '../../../src/data/image-io.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-preview-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('data preview writes an image grid and says where', async () => {
  const file = join(scratch, 'shapes.png');
  const { code, out } = await hasten('data', 'preview', '--data', 'shapes', '--n', '6', '--resolution', '16', '--out', file);
  assert.equal(code, 0);
  assert.match(out[0]!, /wrote 6 samples of shapes \(3x16x16, 8 classes\) to .*shapes\.png/);
  const grid = decodePng(readFileSync(file));
  assert.equal(grid.width, 3 * 18 + 2);
  assert.equal(grid.height, 2 * 18 + 2);
});

test('data preview draws points as a scatter plot', async () => {
  const file = join(scratch, 'moons.png');
  const { code } = await hasten('data', 'preview', '--data', 'toy2d:two-moons', '--n', '300', '--out', file);
  assert.equal(code, 0);
  assert.equal(decodePng(readFileSync(file)).width, 512);
});

test('data preview: bad input is one line and exit code 2', async () => {
  const file = join(scratch, 'never.png');
  const cases: [string[], RegExp][] = [
    [['--data', 'mnist', '--out', file], /unknown dataset 'mnist'; valid: .*shapes/],
    [['--out', file], /--data NAME is required/],
    [['--data', 'shapes'], /--out FILE\.png is required/],
    [['--data', 'shapes', '--out', join(scratch, 'x.jpg')], /\.png/],
    [['--data', 'shapes', '--n', '0', '--out', file], /--n expects an integer >= 1/],
    [['--data', 'toy2d:two-moons', '--resolution', '16', '--out', file], /image datasets only/],
    [['--data', `folder:${join(scratch, 'absent')}`, '--out', file], /does not exist/],
    // Sized before any sample is drawn.
    [['--data', 'shapes', '--n', '100000000', '--out', file], /^hasten data preview: a grid of 100000000 images of 3x32x32 .* would need about .* of memory/],
    [['--data', 'toy2d:two-moons', '--n', '100000000000', '--out', file], /a scatter plot of 100000000000 points of 2 coordinates would need about .* of memory/],
  ];
  for (const [args, pattern] of cases) {
    const { code, err } = await hasten('data', 'preview', ...args);
    assert.equal(code, 2, args.join(' '));
    assert.equal(err.length, 1, args.join(' '));
    assert.match(err[0]!, pattern);
  }
  assert.equal(existsSync(file), false);
});

test('data preview --json prints what it wrote', async () => {
  const file = join(scratch, 'moons.png');
  const { code, out } = await hasten('data', 'preview', '--data', 'toy2d:two-moons', '--n', '50', '--out', file, '--json');
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(out[0]!), { out: file, data: 'toy2d:two-moons', n: 50, shape: [2], classes: ['upper moon', 'lower moon'] });
});
