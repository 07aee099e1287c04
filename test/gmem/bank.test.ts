import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openDataset } from '../../src/data/registry.js';
import { BankError, type MemoryBank, buildBank, compressKMeans, compressSvd, loadBank, normalise, saveBank, selectEntries } from '../../src/gmem/bank.js';
import type { SnippetEncoder } from '../../src/gmem/encoder.js';
import { tinyEncoder } from './helpers.js';

let dir: string;
let encoder: SnippetEncoder;
let bank: MemoryBank;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hasten-bank-'));
  encoder = await tinyEncoder(join(dir, 'encoder'));
  bank = await buildBank(encoder, openDataset('shapes', { resolution: 8 }), { encoderName: 'tiny', count: 60, start: 5, seed: 3, mirrored: true, batch: 25 });
});
after(async () => {
  await encoder.dispose();
  await rm(dir, { recursive: true, force: true });
});

test('buildBank: one snippet per image, equal to encoding the image alone; mirrors and labels stored', async () => {
  assert.equal(bank.size, 60);
  assert.equal(bank.dim, 6);
  const dataset = openDataset('shapes', { resolution: 8 });
  const one = dataset.sample([5 + 41], 3);
  const alone = (await encoder.encode(one.x)).snippets;
  bank.snippet(41).forEach((v, j) => assert.ok(Math.abs(v - alone[j]!) < 1e-5));
  assert.equal(bank.labels![41], one.labels!.data[0]);
  assert.notDeepEqual(bank.snippet(41, true), bank.snippet(41));
  assert.deepEqual({ ...bank.metadata, additions: [] }, { ...bank.metadata, start: 5, seed: 3, count: 60, mirrored: true, labels: true, additions: [] });
  const rows = bank.normalisedRows([41, 2]);
  assert.ok(Math.abs(Math.hypot(...rows.subarray(0, 6)) - 1) < 1e-6);
});

test('saveBank / loadBank round-trip; a torn pair or a non-bank is one clear error', async () => {
  await saveBank(join(dir, 'b'), bank);
  await saveBank(join(dir, 'again'), bank);
  for (const file of ['bank.json', 'bank.safetensors']) assert.ok((await readFile(join(dir, 'again', file))).equals(await readFile(join(dir, 'b', file))), `a second save changes ${file}`);
  const loaded = await loadBank(join(dir, 'b'));
  assert.deepEqual(loaded.snippet(7), bank.snippet(7));
  assert.deepEqual(loaded.snippet(7, true), bank.snippet(7, true));
  assert.deepEqual(loaded.metadata, bank.metadata);
  const json = join(dir, 'b', 'bank.json');
  const other = join(dir, 'c');
  await saveBank(other, bank.withInterpolation(0, 1, 0.5));
  await writeFile(json, await (await import('node:fs/promises')).readFile(join(other, 'bank.json')));
  await assert.rejects(loadBank(join(dir, 'b')), /different saves/);
  await assert.rejects(loadBank(join(dir, 'none')), BankError);
});

test('additions: an exact snippet stays exact; an interpolation blends normalised entries; bad entries are errors', () => {
  const raw = Float32Array.from([3, 0, 0, 4, 0, 0]);
  const extended = bank.withSnippet(raw, 'x.png', 2n).withInterpolation(0, 1, 0.25);
  assert.equal(extended.size, 62);
  assert.deepEqual(extended.snippet(60), raw);
  const expected = normalise(bank.snippet(0)).map((v, j) => 0.75 * v + 0.25 * normalise(bank.snippet(1))[j]!);
  extended.snippet(61).forEach((v, j) => assert.ok(Math.abs(v - expected[j]!) < 1e-6));
  assert.deepEqual(extended.metadata.additions, [{ kind: 'snippet', source: 'x.png' }, { kind: 'interpolation', a: 0, b: 1, t: 0.25 }]);
  assert.throws(() => bank.withSnippet(new Float32Array(5), 'y.png'), /5 wide|takes 5/);
  assert.throws(() => bank.withInterpolation(0, 60, 0.5), /entry 60 does not exist/);
  assert.throws(() => bank.checkWidth(128, 'model m'), /6 wide but model m takes 128/);
});

test('compressKMeans: k entries whose frequencies sum to the images; k = n keeps every snippet', () => {
  const k = compressKMeans(bank, 5, { seed: 1 });
  assert.equal(k.size, 5);
  assert.equal(k.frequencies.reduce((a, b) => a + b, 0), 60);
  assert.equal(k.metadata.compression?.kind, 'kmeans');
  const all = compressKMeans(bank, 60);
  const found = new Set(Array.from({ length: 60 }, (_, i) => Array.from(all.snippet(i), (v) => v.toFixed(4)).join()));
  for (let i = 0; i < 60; i++) assert.ok(found.has(Array.from(normalise(bank.snippet(i)), (v) => v.toFixed(4)).join()), `snippet ${i}`);
});

test('compressSvd: full rank reconstructs exactly, lower rank keeps less energy; additions stay exact', () => {
  const full = compressSvd(bank, 6);
  for (const i of [0, 17, 59]) full.snippet(i).forEach((v, j) => assert.ok(Math.abs(v - bank.snippet(i)[j]!) < 1e-4));
  const low = compressSvd(bank, 2);
  const energy = (low.metadata.compression as { energy: number }).energy;
  assert.ok(energy > 0 && energy < 1);
  const raw = Float32Array.from([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(low.withSnippet(raw, 'z').snippet(60), raw);
  assert.throws(() => compressSvd(bank, 7), /1\.\.6/);
});

test('selectEntries: uniform follows the frequencies; noise-tied is a function of the noise', () => {
  const k = compressKMeans(bank, 4, { seed: 2 });
  const picks = selectEntries(k, 'uniform', 4000, 0);
  for (let c = 0; c < 4; c++) {
    const share = picks.filter((p) => p === c).length / 4000;
    assert.ok(Math.abs(share - k.frequencies[c]! / 60) < 0.04, `entry ${c}: ${share}`);
  }
  const noise = Float64Array.from({ length: 3 * 10 }, (_, i) => Math.sin(i * 7.3));
  assert.deepEqual(selectEntries(bank, 'noise', 3, 0, noise), selectEntries(bank, 'noise', 3, 99, noise));
  const low = Float64Array.from({ length: 10 }, () => -3);
  const high = Float64Array.from({ length: 10 }, () => 3);
  assert.equal(selectEntries(bank, 'noise', 1, 0, low)[0], 0);
  assert.equal(selectEntries(bank, 'noise', 1, 0, high)[0], 59);
});
