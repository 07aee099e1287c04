import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { encodePng } from '../../../src/data/image-io.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadBank } from '../../../src/gmem/bank.js';
import { saveEncoder } from '../../../src/gmem/encoder.js';
import { tinyEncoder } from '../../gmem/helpers.js';
import { hasten } from '../run-cli.js';

let dir: string;
let encoder: string;

before(async () => {
  process.env.HASTEN_ORT_SPIN = '0';
  dir = await mkdtemp(join(tmpdir(), 'hasten-gmem-cli-'));
  encoder = join(dir, 'encoder');
  const trained = await tinyEncoder(join(dir, 'encoder-run'));
  await saveEncoder(encoder, trained);
  await trained.dispose();
});
after(async () => rm(dir, { recursive: true, force: true }));

test('gmem bank -> train --cond memory -> sample: noise-tied, a chosen entry, an image, an interpolation', async () => {
  const bank = join(dir, 'bank');
  const built = await hasten('gmem', 'bank', '--encoder', encoder, '--data', 'shapes', '--resolution', '8', '--n', '24', '--mirrored', '--out', bank, '--json');
  assert.equal(built.code, 0, built.err.join('\n'));
  assert.equal(JSON.parse(built.out[0]!).entries, 24);
  const compressed = await hasten('gmem', 'bank', '--from', bank, '--kmeans', '4', '--out', join(dir, 'bank-k4'), '--json');
  assert.equal(JSON.parse(compressed.out[0]!).entries, 4);
  // A bank is never written over unasked; with --overwrite it may even be its own --from.
  const again = await hasten('gmem', 'bank', '--from', join(dir, 'bank-k4'), '--kmeans', '2', '--out', join(dir, 'bank-k4'));
  assert.equal(again.code, 2);
  assert.match(again.err[0]!, /bank-k4 already holds a memory bank \(bank\.json\): replace it with --overwrite, or choose another folder/);
  assert.equal((await loadBank(join(dir, 'bank-k4'))).size, 4);
  const inPlace = await hasten('gmem', 'bank', '--from', join(dir, 'bank-k4'), '--interpolate', '0,1', '--out', join(dir, 'bank-k4'), '--overwrite', '--json');
  assert.equal(JSON.parse(inPlace.out[0]!).entries, 5);

  const run = join(dir, 'run');
  const config = JSON.stringify({ patchSize: 2, width: 16, depth: 2, heads: 2, projectorBlock: 1 });
  const trained = await hasten('train', '--data', 'shapes', '--resolution', '8', '--arch', 'dit', '--arch-config', config, '--objective', 'rf', '--cond', 'memory',
    '--bank', bank, '--repa', '0.5', '--cosine', '1', '--steps', '2', '--batch', '4', '--snapshot-every', '1', '--out', run, '--json');
  assert.equal(trained.code, 0, trained.err.join('\n'));
  const resumed = await hasten('train', '--resume', '--out', run, '--steps', '3', '--json');
  assert.equal(resumed.code, 0, resumed.err.join('\n'));
  assert.equal(JSON.parse(resumed.out[0]!).step, 3);

  const png = join(dir, 'a.png');
  for (const extra of [['--snippet-select', 'noise'], ['--snippet', '3', '--guidance', '2'], ['--bank', join(dir, 'bank-k4')], ['--interpolate', '0,5'], ['--snippet-from', png]]) {
    const sampled = await hasten('sample', '--model', run, '--sampler', 'rf-euler', '--steps', '2', '--n', '4', '--out', png, '--json', ...extra);
    assert.equal(sampled.code, 0, `${extra.join(' ')}: ${sampled.err.join('\n')}`);
  }
  assert.ok(existsSync(png));
  const fromSnapshot = await hasten('sample', '--model', join(run, 'snapshots', 'step-2'), '--bank', bank, '--sampler', 'rf-euler', '--steps', '1', '--n', '2', '--out', png);
  assert.equal(fromSnapshot.code, 0, fromSnapshot.err.join('\n'));
});

test('gmem bank from a folder of the user\'s images: every image once, no --n needed', async () => {
  const folder = join(dir, 'my-images');
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < 3; i++) {
    const data = new Uint8Array(12 * 12 * 4).map((_, k) => (k % 4 === 3 ? 255 : (k * (i + 3)) % 251));
    await writeFile(join(folder, `image-${i}.png`), encodePng({ width: 12, height: 12, data }));
  }
  const built = await hasten('gmem', 'bank', '--encoder', encoder, '--data', `folder:${folder}`, '--out', join(dir, 'folder-bank'), '--json');
  assert.equal(built.code, 0, built.err.join('\n'));
  assert.equal(JSON.parse(built.out[0]!).entries, 3);
});

test('gmem: clear errors for a missing bank, a width mismatch and a bank on a plain model', async () => {
  const noBank = await hasten('train', '--data', 'shapes', '--arch', 'dit', '--cond', 'memory', '--out', join(dir, 'x'));
  assert.equal(noBank.code, 2);
  assert.match(noBank.err.join('\n'), /--cond memory needs --bank/);
  const narrow = await tinyEncoder(join(dir, 'narrow-run'), 5);
  await saveEncoder(join(dir, 'narrow'), narrow);
  await narrow.dispose();
  const wide = join(dir, 'wide');
  await hasten('gmem', 'bank', '--encoder', join(dir, 'narrow'), '--data', 'shapes', '--resolution', '8', '--n', '8', '--out', wide);
  const mismatch = await hasten('sample', '--model', join(dir, 'run'), '--bank', wide, '--steps', '1', '--sampler', 'rf-euler', '--out', join(dir, 'm.png'));
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.err.join('\n'), /5 wide but model .* takes 6/);
  const unfed = await hasten('train', '--data', 'shapes', '--resolution', '8', '--arch', 'dit', '--arch-config', JSON.stringify({ condVectorDim: 5 }), '--out', join(dir, 'y'));
  assert.equal(unfed.code, 2);
  assert.match(unfed.err.join('\n'), /condVectorDim needs --cond memory/);
  const plain = join(dir, 'plain2');
  await hasten('train', '--data', 'shapes', '--resolution', '8', '--arch', 'dit', '--arch-config', JSON.stringify({ patchSize: 2, width: 16, depth: 1, heads: 2 }), '--objective', 'rf', '--steps', '1', '--batch', '2', '--out', plain);
  const onPlain = await hasten('sample', '--model', plain, '--bank', wide, '--steps', '1', '--sampler', 'rf-euler', '--out', join(dir, 'p.png'));
  assert.equal(onPlain.code, 2);
  assert.match(onPlain.err.join('\n'), /not memory-conditioned/);
});

test('gmem train-encoder keeps a run it finds unless told, and refuses settings given with --resume', async () => {
  const run = join(dir, 'kept-run');
  await mkdir(join(run, 'checkpoint'), { recursive: true });
  const again = await hasten('gmem', 'train-encoder', '--data', 'shapes', '--resolution', '8', '--steps', '1', '--batch', '2', '--out', run);
  assert.equal(again.code, 2);
  assert.match(again.err.join('\n'), /already holds an encoder training run \(checkpoint\): continue it with --resume, or replace it with --overwrite/);
  const changed = await hasten('gmem', 'train-encoder', '--resume', '--batch', '4', '--lr', '0.1', '--out', run);
  assert.equal(changed.code, 2);
  assert.match(changed.err.join('\n'), /--batch, --lr cannot be given with --resume: the run continues with the settings in its checkpoint \(only --steps may change\)/);
});
