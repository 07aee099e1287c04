// --workers N on the commands that run in shards: the same output as one process, bit for bit
// (tiny models and two local workers; the queue path is tested in test/scale/queue.test.ts).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { encodePng } from '../../src/data/image-io.js';
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
  // A folder given by a relative path is recorded as given, so the sharded bank is the same file.
  const images = join(scratch, 'images');
  mkdirSync(images);
  for (let i = 0; i < 6; i++) writeFileSync(join(images, `image-${i}.png`), encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).map((_, k) => (k % 4 === 3 ? 255 : (k * (i + 3)) % 251)) }));
  for (const [name, data] of [['shapes', 'shapes'], ['folder', `folder:${relative(process.cwd(), images)}`]] as const) {
    const bankArgs = ['gmem', 'bank', '--encoder', encoder, '--data', data, '--resolution', '8', '--n', '6', '--batch', '2', '--mirrored', '--json'];
    await ok(...bankArgs, '--out', join(scratch, `${name}-bank-one`));
    await ok(...bankArgs, '--out', join(scratch, `${name}-bank-two`), ...sharded, '--shard-size', '4');
    assert.equal((await loadBank(join(scratch, `${name}-bank-two`))).metadata.data, data);
    for (const file of ['bank.json', 'bank.safetensors']) {
      assert.ok(readFileSync(join(scratch, `${name}-bank-two`, file)).equals(readFileSync(join(scratch, `${name}-bank-one`, file))), `${name}: ${file} differs`);
    }
  }
});

test('bench accel --workers 2 runs its Skip-Tuning sweep in shards, with the figures of one process', async () => {
  const benchArgs = ['bench', 'accel', '--model', 'shapes', '--sampler', 'ddim', '--steps', '2', '--n', '4', '--batch', '4', '--timing-n', '2', '--repeats', '1',
    '--config', 'plain', '--sweep-nfe', '2', '--sweep-factors', '0.8,1', '--json'];
  const one = JSON.parse((await ok(...benchArgs)).join('\n'));
  const results = join(scratch, 'sweep-shards');
  const two = JSON.parse((await ok(...benchArgs, '--workers', '2', '--results', results)).join('\n'));
  const [folder, ...others] = readdirSync(results);
  assert.ok(folder?.startsWith('sweep-') && others.length === 0, `one sweep job in ${results}`);
  assert.deepEqual(readdirSync(join(results, folder)).sort(), ['0+1.safetensors', '1+1.safetensors'], 'one artefact per sweep point');
  assert.equal(one.sweep.length, 2);
  assert.ok(one.sweep.every((point: { fd: number | null }) => point.fd !== null));
  assert.deepEqual(two.sweep, one.sweep);
  const quality = (rows: Record<string, unknown>[]) => rows.map(({ config, nfe, gflops, fd, accuracy, rmse_to_plain }) => ({ config, nfe, gflops, fd, accuracy, rmse_to_plain }));
  assert.deepEqual(quality(two.rows), quality(one.rows));
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
