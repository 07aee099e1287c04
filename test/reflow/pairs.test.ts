import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RunFolderError } from '../../src/engine/run-folder.js';
import { type PairSettings, generatePairs, openPairs, pairInputs } from '../../src/reflow/pairs.js';
import { tinyTeacher } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-pairs-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let settings: PairSettings;
let straight: string;

before(async () => {
  const teacher = await tinyTeacher(scratch);
  // Shards of 4 in batches of 3: the batching inside a shard must not depend on where a run started.
  settings = { teacher, sampler: 'euler', steps: 3, guidance: 1, count: 10, seed: 5, shardSize: 4, batch: 3 };
  straight = join(scratch, 'straight');
  await generatePairs(settings, straight);
});

const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
const shardsOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).shards;

function assertSameAsStraight(dir: string): void {
  assert.deepEqual(files(dir), files(straight));
  for (const file of files(straight)) assert.ok(readFileSync(join(dir, file)).equals(readFileSync(join(straight, file))), `${file} differs from the uninterrupted run's`);
  assert.deepEqual(shardsOf(dir), shardsOf(straight));
}

test('an uninterrupted run: every pair once, noise and labels from (seed, index)', async () => {
  const pairs = await openPairs(straight);
  assert.equal(pairs.count, 10);
  assert.deepEqual(shardsOf(straight).map((s: { first: number; count: number }) => [s.first, s.count]), [[0, 4], [4, 4], [8, 2]]);
  const expected = pairInputs({ seed: 5, dataShape: [2], numClasses: 2 }, 0, 10);
  assert.deepEqual(pairs.noise, expected.noise);
  assert.deepEqual(pairs.labels, expected.labels);
  assert.ok(pairs.sample.every(Number.isFinite));
  assert.notDeepEqual(pairs.sample, pairs.noise);
});

test('stopped after one shard and resumed: byte-identical to an uninterrupted run, nothing redone', async () => {
  const dir = join(scratch, 'stopped');
  let asked = 0;
  const first = await generatePairs(settings, dir, { shouldStop: () => ++asked > 1 });
  assert.equal(first.stopped, true);
  assert.equal(first.generated, 1);
  await assert.rejects(openPairs(dir), /unfinished: 4 of 10 pairs/);
  const second = await generatePairs(settings, dir, {}, { resume: true });
  assert.deepEqual([second.reused, second.generated, second.stopped], [1, 2, false]);
  assertSameAsStraight(dir);
});

test('a kill between a shard and its manifest entry: the shard is adopted; a damaged shard is regenerated', async () => {
  const dir = join(scratch, 'torn');
  await generatePairs(settings, dir);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  manifest.shards.pop();
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const adopted = await generatePairs(settings, dir, {}, { resume: true });
  assert.deepEqual([adopted.reused, adopted.generated], [3, 0]);
  assertSameAsStraight(dir);

  const bytes = readFileSync(join(dir, 'shard-00001.safetensors'));
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(join(dir, 'shard-00001.safetensors'), bytes);
  const warnings: string[] = [];
  const repaired = await generatePairs(settings, dir, { warn: (m) => warnings.push(m) }, { resume: true });
  assert.deepEqual([repaired.reused, repaired.generated], [2, 1]);
  assert.match(warnings.join('\n'), /shard-00001.safetensors does not match its sha256/);
  assertSameAsStraight(dir);
});

test('a directory of pairs is continued only with resume, with the same settings but the count, and replaced only with overwrite', async () => {
  await assert.rejects(generatePairs(settings, straight), (error: Error) => {
    assert.ok(error instanceof RunFolderError);
    assert.equal(error.message, `${straight} already holds reflow pairs (manifest.json): continue it with --resume, or replace it with --overwrite`);
    return true;
  });
  await assert.rejects(generatePairs({ ...settings, steps: 4 }, straight, {}, { resume: true }),
    /holds pairs generated with another steps \(3, now 4\): resuming may change only the count \(--n\); use another --out, or --overwrite/);
  const dir = join(scratch, 'replaced');
  await generatePairs(settings, dir);
  const replaced = await generatePairs({ ...settings, steps: 4 }, dir, {}, { overwrite: true });
  assert.deepEqual([replaced.reused, replaced.generated], [0, 3], 'no shard of the old pairs is adopted');
  assert.equal((await openPairs(dir)).manifest.generation.steps, 4);
});

test('SIGKILL during `hasten reflow pairs`, then the same command: identical shards, none lost or duplicated', async () => {
  const dir = join(scratch, 'killed');
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const args = (out: string) => [cli, 'reflow', 'pairs', '--teacher', settings.teacher, '--sampler', 'heun', '--steps', '18', '--n', '3000', '--shard-size', '100', '--batch', '50', '--seed', '5', '--out', out, '--json'];
  const child = spawn(process.execPath, args(dir), { stdio: 'ignore', env: { ...process.env, HASTEN_ORT_SPIN: '0' } });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Kill once the first shards are on disk, whatever the process is doing at that moment.
  while (!(existsSync(dir) && files(dir).length >= 3) && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  await exited;
  const written = files(dir).length;
  const finish = (out: string, ...more: string[]) => new Promise<void>((resolve, reject) => {
    spawn(process.execPath, [...args(out), ...more], { stdio: 'ignore', env: { ...process.env, HASTEN_ORT_SPIN: '0' } })
      .on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit code ${code}`))));
  });
  await finish(dir, '--resume');
  const uninterrupted = join(scratch, 'not-killed');
  await finish(uninterrupted);
  assert.ok(written < 30, `the kill came after all ${written} shards were written: nothing was tested`);
  assert.deepEqual(files(dir), files(uninterrupted));
  for (const file of files(dir)) assert.ok(readFileSync(join(dir, file)).equals(readFileSync(join(uninterrupted, file))), `${file} differs`);
  const pairs = await openPairs(dir);
  assert.equal(pairs.count, 3000);
  assert.deepEqual(shardsOf(dir), shardsOf(uninterrupted));
});
