// Seeded fuzzing of every file format hasten reads from users: PNG and JPEG images, safetensors
// weights, ONNX models and checkpoint JSON. Each mutated file must either load or fail with one of
// the project's clear errors (a one-line message naming what is wrong), in bounded time and memory:
// no crash, no hang, no allocation sized by a hostile header.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { after, test } from 'node:test';
import jpeg from 'jpeg-js';
import { ImageError, decodeImage, encodePng } from '../../src/data/image-io.js';
import { CheckpointError, checkpointFiles, saveCheckpoint } from '../../src/engine/checkpoint.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import { InputError } from '../../src/engine/input-error.js';
import { type OnnxModel, decodeModel, encodeModel } from '../../src/engine/onnx/codec.js';
import { RngStream } from '../../src/engine/rng.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/engine/safetensors.js';
import { initParams } from '../../src/models/init.js';
import { createModel } from '../../src/models/registry.js';
import { loadTrainedModel } from '../../src/pipeline/model-store.js';
import { objectiveSettings } from '../../src/train/objectives.js';
import { TRAIN_DEFAULTS } from '../../src/train/trainer.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-fuzz-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const SLOWEST_MS = 2000; // one input taking longer than this counts as a hang
const MAX_SIDE = 64; // images are decoded under this limit, so an accepted one is at most 16 KB
const MEMORY_GROWTH_MB = 256; // peak memory may grow by at most this over the whole run

/** Byte-level mutations: flips, overwrites with boundary values, runs of garbage, cuts and insertions. */
function mutate(base: Uint8Array, stream: RngStream, k: number): Uint8Array {
  const [kind, position, value, length] = Array.from(stream.integers([k], 4, 2 ** 31));
  const bytes = Uint8Array.from(base);
  const at = position! % bytes.length;
  switch (kind! % 6) {
    case 0: bytes[at] ^= 1 << (value! % 8); return bytes;
    case 1: bytes[at] = [0x00, 0xff, 0x7f, 0x80][value! % 4]!; return bytes;
    case 2: {
      // Four bytes of a boundary integer: what a corrupted length or size field holds.
      const word = [0xffffffff, 0x7fffffff, 0x80000000, 0x00010000, 0][value! % 5]!;
      for (let i = 0; i < 4 && at + i < bytes.length; i++) bytes[at + i] = (word >>> (8 * (3 - i))) & 0xff;
      return bytes;
    }
    case 3: for (let i = 0; i < 1 + (length! % 16) && at + i < bytes.length; i++) bytes[at + i] = (value! >>> (i % 24)) & 0xff; return bytes;
    case 4: return bytes.subarray(0, at);
    default: return Uint8Array.from([...bytes.subarray(0, at), ...Array.from({ length: 1 + (length! % 8) }, (_, i) => (value! >>> i) & 0xff), ...bytes.subarray(at)]);
  }
}

interface Tally { loaded: number; refused: number; slowestMs: number }

/** Runs `load` on each input; every failure must be a clear error as `clear` judges it. */
async function fuzz(inputs: Iterable<Uint8Array>, load: (bytes: Uint8Array) => unknown, clear: (error: Error) => boolean): Promise<Tally> {
  const tally: Tally = { loaded: 0, refused: 0, slowestMs: 0 };
  let index = 0;
  for (const bytes of inputs) {
    const started = performance.now();
    try {
      await load(bytes);
      tally.loaded++;
    } catch (error) {
      tally.refused++;
      const message = (error as Error).message;
      assert.ok(error instanceof Error && clear(error), `input ${index}: not a clear error: ${(error as Error).name}: ${message}`);
      assert.ok(message.length > 0 && !message.includes('\n'), `input ${index}: not one line: ${message}`);
    }
    tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started);
    assert.ok(performance.now() - started < SLOWEST_MS, `input ${index} took ${(performance.now() - started).toFixed(0)} ms`);
    index++;
  }
  return tally;
}

function* mutations(bases: Uint8Array[], count: number, label: string): Generator<Uint8Array> {
  const stream = RngStream.fromSeed(2026, 'fuzz', label);
  for (let k = 0; k < count; k++) {
    let bytes = bases[k % bases.length]!;
    // Half the inputs carry two or three mutations at once.
    for (let round = 0; round < 1 + (k % 3); round++) bytes = mutate(bytes, stream.derive(round), k);
    yield bytes;
  }
}

/** PNGs whose IHDR claims width x height, with the chunk's CRC recomputed so that only the size is wrong. */
function* pngHeaders(base: Uint8Array, count: number): Generator<Uint8Array> {
  const sides = [0, 1, 65, 4096, 30000, 0x7fffffff, 0xffffffff];
  for (let k = 0; k < count; k++) {
    const bytes = Buffer.from(base);
    bytes.writeUInt32BE(sides[k % sides.length]!, 16);
    bytes.writeUInt32BE(sides[Math.floor(k / sides.length) % sides.length]!, 20);
    bytes[24] = [1, 2, 4, 8, 16][k % 5]!; // bit depth
    bytes.writeUInt32BE(zlib.crc32(bytes.subarray(12, 29)), 29);
    yield bytes;
  }
}

/** JPEGs whose frame header claims width x height. */
function* jpegHeaders(base: Uint8Array, count: number): Generator<Uint8Array> {
  const sides = [0, 1, 65, 4096, 30000, 65535];
  const frame = Buffer.from(base).indexOf(Buffer.from([0xff, 0xc0]));
  for (let k = 0; k < count; k++) {
    const bytes = Buffer.from(base);
    bytes.writeUInt16BE(sides[k % sides.length]!, frame + 5);
    bytes.writeUInt16BE(sides[Math.floor(k / sides.length) % sides.length]!, frame + 7);
    yield bytes;
  }
}

const pixels = (width: number, height: number, seed: number): Uint8Array => Uint8Array.from(RngStream.fromSeed(seed, 'pixels').integers([0], width * height * 4, 256));

const startingMemory = process.resourceUsage().maxRSS;

test('fuzz: mutated PNG and JPEG files decode within the side limit or fail with an ImageError', async () => {
  const opaque = pixels(8, 8, 1).map((v, i) => (i % 4 === 3 ? 255 : v));
  const pngs = [encodePng({ width: 8, height: 8, data: pixels(8, 8, 0) }), encodePng({ width: 8, height: 8, data: opaque })];
  const jpegs = [jpeg.encode({ width: 16, height: 16, data: Buffer.from(pixels(16, 16, 2)) }, 90).data, jpeg.encode({ width: 9, height: 7, data: Buffer.from(pixels(9, 7, 3)) }, 50).data];
  const decode = (bytes: Uint8Array): void => {
    const image = decodeImage(bytes, { maxSide: MAX_SIDE });
    assert.ok(image.width <= MAX_SIDE && image.height <= MAX_SIDE && image.data.length === image.width * image.height * 4, `${image.width}x${image.height}`);
  };
  const isImageError = (error: Error): boolean => error instanceof ImageError;
  const tallies = [
    await fuzz(mutations(pngs, 800, 'png'), decode, isImageError),
    await fuzz(pngHeaders(pngs[1]!, 245), decode, isImageError),
    await fuzz(mutations(jpegs, 800, 'jpeg'), decode, isImageError),
    await fuzz(jpegHeaders(jpegs[0]!, 144), decode, isImageError),
  ];
  for (const tally of tallies) assert.ok(tally.refused > 0, JSON.stringify(tallies));
});

test('fuzz: mutated safetensors files load or fail with a CheckpointError naming the file', async () => {
  const tensors = new Map<string, HostTensor>([
    ['enc.weight', { dtype: 'float32', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) }],
    ['enc.bias', { dtype: 'float32', shape: [4], data: Float32Array.of(1, 2, 3, 4) }],
    ['steps', { dtype: 'int64', shape: [2], data: BigInt64Array.of(5n, 6n) }],
  ]);
  const base = encodeSafetensors(tensors, { note: 'fuzz' });
  const tally = await fuzz(mutations([base], 900, 'safetensors'), (bytes) => decodeSafetensors(bytes, 'fuzz.safetensors'),
    (error) => error instanceof CheckpointError && error.message.startsWith('fuzz.safetensors: '));
  assert.ok(tally.refused > 0 && tally.loaded > 0, JSON.stringify(tally));
});

test('fuzz: mutated ONNX models decode or fail with an error naming the file', async () => {
  const model: OnnxModel = {
    irVersion: 8, opsets: [{ domain: '', version: 17 }], producerName: 'fuzz', producerVersion: '1', metadata: { note: 'fuzz' },
    graph: {
      name: 'g',
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 3] }],
      initializers: new Map<string, HostTensor>([
        ['w', { dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3) }],
        ['shape', { dtype: 'int64', shape: [2], data: BigInt64Array.of(2n, 3n) }],
      ]),
      nodes: [
        { opType: 'Mul', inputs: ['x', 'w'], outputs: ['m'], attributes: {} },
        { opType: 'Reshape', inputs: ['m', 'shape'], outputs: ['r'], attributes: {} },
        { opType: 'LeakyRelu', inputs: ['r'], outputs: ['y'], attributes: { alpha: 0.25 } },
      ],
    },
  };
  const tally = await fuzz(mutations([encodeModel(model)], 900, 'onnx'), (bytes) => decodeModel(bytes, 'fuzz.onnx'), (error) => error.message.startsWith('fuzz.onnx: '));
  assert.ok(tally.refused > 0 && tally.loaded > 0, JSON.stringify(tally));
});

test('fuzz: mutated checkpoint JSON loads as a model or fails with an error naming the checkpoint', async () => {
  const dir = join(scratch, 'model');
  const model = createModel({ arch: 'mlp', dataDim: 2, width: 8, depth: 1, embeddingWidth: 8, numClasses: 2 });
  await saveCheckpoint(dir, {
    params: initParams(model, 0), step: 3,
    config: { ...TRAIN_DEFAULTS, data: 'toy2d:two-moons', cond: 'class', model: model.config, objective: objectiveSettings('edm'), dataShape: [2], classNames: ['upper', 'lower'] },
  });
  const { config } = checkpointFiles(dir);
  const base = new TextEncoder().encode((await import('node:fs')).readFileSync(config, 'utf8'));
  const tally = await fuzz(mutations([base], 300, 'json'), async (bytes) => {
    writeFileSync(config, bytes);
    await loadTrainedModel(dir, { warn: () => undefined });
  }, (error) => error instanceof InputError && error.message.includes(dir));
  assert.ok(tally.refused > 0 && tally.loaded > 0, JSON.stringify(tally));
  const grown = (process.resourceUsage().maxRSS - startingMemory) / 1024;
  assert.ok(grown < MEMORY_GROWTH_MB, `peak memory grew by ${grown.toFixed(0)} MB over the fuzzing`);
});
