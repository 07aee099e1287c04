import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import { artefactPath, readArtefact, writeArtefact } from '../../src/scale/artefact.js';
import { canonicalJson, checkShardSize, planShards, settingsHash } from '../../src/scale/shard.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-artefact-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const address = { job: 'grid', settingsHash: settingsHash({ model: 'm', seed: 1 }), range: { first: 8, count: 4 } };
const tensors = new Map<string, HostTensor>([['x', { dtype: 'float32', shape: [4, 2], data: Float32Array.from({ length: 8 }, (_, i) => i / 3) }]]);

test('an artefact reads back with its tensors and metadata, at an address made of the job, settings hash and range', async () => {
  const path = await writeArtefact(scratch, address, { tensors, extra: { nfe: '6' } });
  assert.equal(path, artefactPath(scratch, address));
  assert.match(path, /grid-[0-9a-f]{16}\/8\+4\.safetensors$/);
  const check = await readArtefact(scratch, address);
  assert.equal(check.status, 'ok');
  if (check.status !== 'ok') return;
  assert.deepEqual(check.artefact.tensors.get('x')!.data, tensors.get('x')!.data);
  assert.deepEqual(check.artefact.extra, { nfe: '6' });
});

test('a flipped bit, a cut-short copy or another range is corrupt; nothing there is missing', async () => {
  const path = await writeArtefact(scratch, address, { tensors, extra: {} });
  const bytes = readFileSync(path);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 3] ^= 1;
  writeFileSync(path, flipped);
  assert.deepEqual(await readArtefact(scratch, address), { status: 'corrupt', reason: `${path}: its data does not match the sha256 in its header` });
  writeFileSync(path, bytes.subarray(0, bytes.length - 5));
  assert.equal((await readArtefact(scratch, address)).status, 'corrupt');
  // Another shard's file copied under this one's name.
  const other = { ...address, range: { first: 12, count: 4 } };
  writeFileSync(path, readFileSync(await writeArtefact(scratch, other, { tensors, extra: {} })));
  const check = await readArtefact(scratch, address);
  assert.ok(check.status === 'corrupt' && /first is "12", expected "8"/.test(check.reason));
  assert.deepEqual(await readArtefact(scratch, { ...address, settingsHash: settingsHash('other') }), { status: 'missing' });
});

test('settings hash: key order does not matter, values do; shard plans and sizes', () => {
  assert.equal(canonicalJson({ b: [1, { d: 2, c: null }], a: 'x', skip: undefined }), '{"a":"x","b":[1,{"c":null,"d":2}]}');
  assert.equal(settingsHash({ a: 1, b: 2 }), settingsHash({ b: 2, a: 1 }));
  assert.notEqual(settingsHash({ a: 1 }), settingsHash({ a: 2 }));
  assert.deepEqual(planShards(10, 4), [{ first: 0, count: 4 }, { first: 4, count: 4 }, { first: 8, count: 2 }]);
  assert.throws(() => planShards(0, 4), /positive number of items/);
  assert.throws(() => checkShardSize(6, 4), /not a multiple of the batch size 4/);
  checkShardSize(8, 4);
});
