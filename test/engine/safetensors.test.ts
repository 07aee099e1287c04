import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointError } from '../../src/engine/checkpoint-error.js';
import { hostTensor, type HostTensor } from '../../src/engine/host-tensor.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/engine/safetensors.js';
import { loadSafetensors, saveSafetensors } from '../../src/engine/safetensors-file.js';

const root = await mkdtemp(join(tmpdir(), 'hasten-safetensors-'));
after(() => rm(root, { recursive: true, force: true }));

function sampleTensors(): Map<string, HostTensor> {
  return new Map<string, HostTensor>([
    ['weight', hostTensor('float32', [2, 3], Float32Array.of(1, -2, 3.5, 0, 1e-30, -Infinity))],
    ['10', hostTensor('float64', [3], Float64Array.of(Math.PI, -0, 1e300))],
    ['2', hostTensor('int64', [2], BigInt64Array.of(-(2n ** 62n), 7n))],
    ['count', hostTensor('int32', [], Int32Array.of(-5))],
    ['mask', hostTensor('bool', [1, 3], Uint8Array.of(1, 0, 1))],
    ['empty', hostTensor('float32', [0, 4])],
  ]);
}

/** Safetensors bytes from a literal header text and data, for files our writer would never produce. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const headerBytes = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, headerLength ?? BigInt(headerBytes.length), true);
  bytes.set(headerBytes, 8);
  bytes.set(data, 8 + headerBytes.length);
  return bytes;
}

test('round-trips every dtype, shape, name order and metadata through a file', async () => {
  const path = join(root, 'roundtrip.safetensors');
  const tensors = sampleTensors();
  await saveSafetensors(path, tensors, { format: 'pt', note: 'ünïcode' });
  const loaded = await loadSafetensors(path);
  assert.deepEqual([...loaded.tensors.keys()], [...tensors.keys()]);
  assert.deepEqual(loaded.tensors, tensors);
  assert.deepEqual(loaded.metadata, { format: 'pt', note: 'ünïcode' });
  const bytes = await readFile(path);
  const decoded = decodeSafetensors(bytes, path);
  assert.deepEqual(decoded, loaded);
  bytes.fill(0);
  assert.deepEqual(decoded.tensors, tensors, 'decoded tensors must own their data, not view the input bytes');
});

test('pads the header with spaces so the data starts 8-byte aligned', () => {
  for (const name of ['a', 'ab', 'abc', 'abcd', 'abcde']) {
    const bytes = encodeSafetensors(new Map([[name, hostTensor('float64', [1], Float64Array.of(1))]]));
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + headerLength) % 8, 0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    assert.match(header, /^\{.*\} *$/);
    assert.deepEqual(JSON.parse(header), { [name]: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } });
  }
});

test('reads half precision and narrow integers as float32 and int32', () => {
  // Half: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), -0, +Infinity, NaN.
  const halves = Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x7e00);
  // bfloat16: 1, -2.5, 3.0e38 (near the float32 maximum).
  const bfloats = Uint16Array.of(0x3f80, 0xc020, 0x7f62);
  const bytes = Uint8Array.of(255, 1, 128, 127);
  const data = new Uint8Array(14 + 6 + 4 + 4);
  data.set(new Uint8Array(halves.buffer), 0);
  data.set(new Uint8Array(bfloats.buffer), 14);
  data.set(bytes, 20);
  data.set(bytes, 24);
  const header = JSON.stringify({
    h: { dtype: 'F16', shape: [7], data_offsets: [0, 14] },
    b: { dtype: 'BF16', shape: [3], data_offsets: [14, 20] },
    u: { dtype: 'U8', shape: [4], data_offsets: [20, 24] },
    i: { dtype: 'I8', shape: [2, 2], data_offsets: [24, 28] },
  });
  const { tensors } = decodeSafetensors(rawFile(header, data), 'mixed.safetensors');
  const half = tensors.get('h')!;
  assert.equal(half.dtype, 'float32');
  assert.deepEqual([...half.data], [1, -2, 65504, 2 ** -24, -0, Infinity, NaN]);
  assert.equal(tensors.get('b')!.dtype, 'float32');
  assert.deepEqual([...tensors.get('b')!.data].slice(0, 2), [1, -2.5]);
  assert.ok(Math.abs((tensors.get('b')!.data[2] as number) / 3.0e38 - 1) < 0.01);
  assert.deepEqual(tensors.get('u'), hostTensor('int32', [4], Int32Array.of(255, 1, 128, 127)));
  assert.deepEqual(tensors.get('i'), hostTensor('int32', [2, 2], Int32Array.of(-1, 1, -128, 127)));
});

/** Asserts that loading rejects with a CheckpointError naming `path` and matching `problem`. */
async function assertLoadFails(path: string, problem: RegExp): Promise<void> {
  await assert.rejects(loadSafetensors(path), (error: unknown) => {
    assert.ok(error instanceof CheckpointError, `expected a CheckpointError, got ${String(error)}`);
    assert.equal(error.path, path);
    assert.ok(error.message.startsWith(`${path}: `), error.message);
    assert.match(error.message, problem);
    return true;
  });
}

async function corruptFile(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(root, name);
  await writeFile(path, bytes);
  return path;
}

test('error: missing file', async () => {
  await assertLoadFails(join(root, 'does-not-exist.safetensors'), /file not found/);
});

test('error: truncated file, cut inside the tensor data', async () => {
  const whole = encodeSafetensors(sampleTensors());
  const path = await corruptFile('truncated.safetensors', whole.subarray(0, whole.length - 5));
  await assertLoadFails(path, /truncated file: tensor '.+' ends at byte \d+ of the data section but only \d+ bytes are present/);
});

test('error: file shorter than the header length field', async () => {
  await assertLoadFails(await corruptFile('tiny.safetensors', Uint8Array.of(1, 2, 3)), /truncated file: 3 bytes/);
});

test('error: header length beyond the file size', async () => {
  const path = await corruptFile('long-header.safetensors', rawFile('{}', new Uint8Array(0), 1_000_000n));
  await assertLoadFails(path, /header length 1000000 exceeds the 2 bytes after it/);
});

test('error: header that is not JSON', async () => {
  await assertLoadFails(await corruptFile('bad-json.safetensors', rawFile('{"w": {"dtype": "F32",')), /bad header: not valid JSON/);
});

test('error: header with wrong fields', async () => {
  const noOffsets = rawFile(JSON.stringify({ w: { dtype: 'F32', shape: [1] } }), new Uint8Array(4));
  await assertLoadFails(await corruptFile('no-offsets.safetensors', noOffsets), /bad header: tensor 'w' has no "data_offsets"/);
  const array = rawFile('[1, 2]');
  await assertLoadFails(await corruptFile('array.safetensors', array), /bad header: expected a JSON object/);
  const metadata = rawFile(JSON.stringify({ __metadata__: { step: 3 } }));
  await assertLoadFails(await corruptFile('metadata.safetensors', metadata), /'__metadata__' must map strings to strings/);
});

test('error: data size that does not match shape and dtype', async () => {
  const bytes = rawFile(JSON.stringify({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }), new Uint8Array(12));
  await assertLoadFails(await corruptFile('size.safetensors', bytes), /tensor 'w' has 12 bytes of data but shape \[2, 2\] of F32 needs 16/);
});

test('error: overlapping offsets, gaps and trailing bytes', async () => {
  const overlap = rawFile(
    JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }),
    new Uint8Array(12),
  );
  await assertLoadFails(await corruptFile('overlap.safetensors', overlap), /tensors 'a' and 'b' overlap/);
  const gap = rawFile(JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), new Uint8Array(8));
  await assertLoadFails(await corruptFile('gap.safetensors', gap), /4 bytes before tensor 'a' belong to no tensor/);
  const trailing = rawFile(JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }), new Uint8Array(6));
  await assertLoadFails(await corruptFile('trailing.safetensors', trailing), /2 bytes after the last tensor/);
});

test('error: unknown dtype', async () => {
  const bytes = rawFile(JSON.stringify({ q: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }), new Uint8Array(4));
  await assertLoadFails(await corruptFile('dtype.safetensors', bytes), /unknown dtype 'F8_E4M3' for tensor 'q' \(supported: .*BF16/);
});

test('in-memory decoding names its source in errors', () => {
  assert.throws(() => decodeSafetensors(rawFile('nope'), 'download of model.safetensors'), {
    name: 'CheckpointError',
    message: /^download of model\.safetensors: bad header: not valid JSON/,
  });
});

test('refuses to encode inconsistent tensors', () => {
  const wrongLength = { dtype: 'float32', shape: [3], data: new Float32Array(2) } as HostTensor;
  assert.throws(() => encodeSafetensors(new Map([['w', wrongLength]])), /tensor 'w' has 2 elements but shape \[3\]/);
  assert.throws(() => encodeSafetensors(new Map([['__metadata__', hostTensor('int32', [1])]])), /reserved/);
});
