// --workers N on the commands that run in shards: the same output as one process, bit for bit
// (tiny models and two local workers; the queue path is tested in test/scale/queue.test.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadBank } from '../../src/gmem/bank.js';
import { saveEncoder } from '../../src/gmem/encoder.js';
import { tinyEncoder } from '../gmem/helpers.js';
import { tinyTeacher } from '../reflow/helpers.js';
import { hasten } from './run-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-cli-scale-'));
const sharded = ['--workers', '2', '--results', join(scratch, 'shards')];
before(() => { process.env.HASTEN_ORT_SPIN = '0'; });
after(() => rmSync(scratch, { recursive: true, force: true }));

async function ok(...argv: string[]): Promise<string[]> {
  const run = await hasten(...argv);
  assert.equal(run.code, 0, `${argv.join(' ')}: ${run.err.join('\n')}`);
  return run.out;
}

test('eval and sample with --workers 2 give the figures and the grid of one process', async () => {
  const evalArgs = ['eval', '--model', 'toy2d', '--sampler', 'euler', '--steps', '3', '--n', '48', '--batch', '8', '--real-sets', '2', '--json'];
  const one = JSON.parse((await ok(...evalArgs))[0]!);
  const two = JSON.parse((await ok(...evalArgs, ...sharded, '--shard-size', '16'))[0]!);
  for (const key of ['swd', 'swd_std', 'swd_floor', 'mmd', 'mmd_floor', 'nfe', 'real_sets']) assert.equal(two[key], one[key], key);

  const sampleArgs = ['sample', '--model', 'toy2d', '--sampler', 'euler', '--steps', '3', '--n', '24', '--batch', '8', '--json'];
  await ok(...sampleArgs, '--out', join(scratch, 'one.safetensors'));
  await ok(...sampleArgs, '--out', join(scratch, 'two.safetensors'), ...sharded, '--shard-size', '8');
  assert.ok(readFileSync(join(scratch, 'two.safetensors')).equals(readFileSync(join(scratch, 'one.safetensors'))));
});

test('reflow pairs and gmem bank with --workers 2 write what one process writes', async () => {
  const teacher = await tinyTeacher(join(scratch, 'teacher'));
  const pairArgs = ['reflow', 'pairs', '--teacher', teacher, '--sampler', 'euler', '--steps', '2', '--n', '12', '--shard-size', '4', '--batch', '4', '--json'];
  await ok(...pairArgs, '--out', join(scratch, 'pairs-one'));
  await ok(...pairArgs, '--out', join(scratch, 'pairs-two'), ...sharded);
  const files = readdirSync(join(scratch, 'pairs-one')).sort();
  assert.deepEqual(readdirSync(join(scratch, 'pairs-two')).sort(), files);
  for (const file of files) assert.ok(readFileSync(join(scratch, 'pairs-two', file)).equals(readFileSync(join(scratch, 'pairs-one', file))), file);
  const unasked = await hasten(...pairArgs, '--out', join(scratch, 'pairs-two'), ...sharded);
  assert.equal(unasked.code, 2);
  assert.match(unasked.err[0]!, /already holds reflow pairs/);

  const encoder = join(scratch, 'encoder');
  const trained = await tinyEncoder(join(scratch, 'encoder-run'));
  await saveEncoder(encoder, trained);
  await trained.dispose();
  const bankArgs = ['gmem', 'bank', '--encoder', encoder, '--data', 'shapes', '--resolution', '8', '--n', '20', '--batch', '5', '--mirrored', '--json'];
  await ok(...bankArgs, '--out', join(scratch, 'bank-one'));
  await ok(...bankArgs, '--out', join(scratch, 'bank-two'), ...sharded, '--shard-size', '10');
  const [one, two] = await Promise.all(['bank-one', 'bank-two'].map((dir) => loadBank(join(scratch, dir))));
  assert.deepEqual(two!.metadata, one!.metadata);
  assert.deepEqual(two!.tensors(), one!.tensors());
});

test('sharding refuses what does not travel to workers, before any work', async () => {
  const both = await hasten('eval', '--model', 'toy2d', '--workers', '2', '--queue', 'redis://127.0.0.1:1');
  assert.equal(both.code, 2);
  assert.match(both.err[0]!, /--workers and --queue are two ways to run shards: give one/);
  const switched = await hasten('sample', '--model', 'toy2d', '--switch', 'toy2d@sigma>1', '--workers', '2', '--out', join(scratch, 'x.png'));
  assert.equal(switched.code, 2);
  assert.match(switched.err[0]!, /--switch does not run in shards yet/);
  const badShard = await hasten('eval', '--model', 'toy2d', '--n', '20', '--batch', '4', '--shard-size', '6', ...sharded);
  assert.equal(badShard.code, 2);
  assert.match(badShard.err[0]!, /shard size 6 is not a multiple of the batch size 4/);
});
