import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hasten } from './run-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-cli-scale-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const results = join(scratch, 'results');

test('eval and sample with --workers 2: the figures and the PNG of a one-process run', async () => {
  const common = ['--model', 'toy2d', '--sampler', 'euler', '--steps', '3', '--n', '48', '--batch', '8'];
  const plain = await hasten('eval', ...common, '--json');
  const sharded = await hasten('eval', ...common, '--workers', '2', '--shard-size', '16', '--results', results, '--json');
  assert.equal(sharded.code, 0, sharded.err.join('\n'));
  const [a, b] = [plain, sharded].map((r) => JSON.parse(r.out.at(-1)!));
  for (const key of ['swd', 'swd_floor', 'mmd', 'mmd_floor', 'nfe']) assert.equal(b[key], a[key], key);

  const png = (name: string) => join(scratch, name);
  assert.equal((await hasten('sample', ...common, '--out', png('plain.png'))).code, 0);
  const grid = await hasten('sample', ...common, '--workers', '2', '--shard-size', '16', '--results', results, '--out', png('sharded.png'));
  assert.equal(grid.code, 0, grid.err.join('\n'));
  assert.ok(readFileSync(png('sharded.png')).equals(readFileSync(png('plain.png'))));
  assert.ok(readdirSync(results).some((folder) => folder.startsWith('grid-')) && readdirSync(results).some((folder) => folder.startsWith('eval-')));
});

test('--workers with --queue, or a shard size that splits a batch, is one clear usage error', async () => {
  const both = await hasten('eval', '--model', 'toy2d', '--n', '8', '--workers', '2', '--queue', 'redis://127.0.0.1:1', '--results', results);
  assert.equal(both.code, 2);
  assert.match(both.err.join('\n'), /--workers and --queue are two ways to run shards: give one/);
  const split = await hasten('sample', '--model', 'toy2d', '--n', '8', '--batch', '4', '--workers', '2', '--shard-size', '6', '--results', results, '--out', join(scratch, 'x.png'));
  assert.equal(split.code, 2);
  assert.match(split.err.join('\n'), /shard size 6 is not a multiple of the batch size 4/);
});
