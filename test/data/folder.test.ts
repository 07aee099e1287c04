import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { after, test } from 'node:test';
import jpeg from 'jpeg-js';
import { DatasetError } from '../../src/data/dataset.js';
import { folderDataset, type FolderOptions } from '../../src/data/folder.js';
import { encodePng, type RgbaImage } from '../../src/data/image-io.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-folder-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

type Rgba = [number, number, number, number];

/** An image whose pixel (x, y) has colour paint(x, y). */
function picture(width: number, height: number, paint: (x: number, y: number) => Rgba): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(paint(x, y), 4 * (y * width + x));
  return { width, height, data };
}

const solid = (colour: Rgba) => picture(10, 10, () => colour);

function writeImage(path: string, image: RgbaImage, format: 'png' | 'jpeg' = 'png'): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, format === 'png' ? encodePng(image) : jpeg.encode({ ...image, data: Buffer.from(image.data) }, 95).data);
}

function folder(name: string): string {
  const path = join(scratch, name);
  mkdirSync(path, { recursive: true });
  return path;
}

function open(path: string, options: Partial<FolderOptions> = {}): { dataset: ReturnType<typeof folderDataset>; warnings: string[] } {
  const warnings: string[] = [];
  const dataset = folderDataset(path, { resolution: 8, flip: false, warn: (message) => warnings.push(message), ...options });
  return { dataset, warnings };
}

/** The mean of each channel of image `n` of a batch, mapped back to 0..255. */
function meanColour(x: Float32Array, n: number, resolution: number): number[] {
  const plane = resolution * resolution;
  return [0, 1, 2].map((c) => {
    let sum = 0;
    for (let p = 0; p < plane; p++) sum += x[(3 * n + c) * plane + p]!;
    return ((sum / plane + 1) / 2) * 255;
  });
}

test('folder: PNGs and a JPEG are decoded; an unreadable file is skipped with a warning naming it; other files are ignored', () => {
  const path = folder('mixed');
  writeImage(join(path, 'a-red.png'), solid([255, 0, 0, 255]));
  writeImage(join(path, 'b-green.jpg'), solid([0, 255, 0, 255]), 'jpeg');
  // Transparent pixels count as white.
  writeImage(join(path, 'c-clear.png'), solid([0, 0, 0, 0]));
  writeFileSync(join(path, 'd-broken.png'), Buffer.from('\x89PNG\r\n\x1a\nthis is not really a PNG'));
  // A real 10x10 PNG whose header claims 30000 x 30000 (CRC fixed): refused from its header, in no time.
  const huge = encodePng(solid([1, 2, 3, 255]));
  huge.writeUInt32BE(30000, 16);
  huge.writeUInt32BE(30000, 20);
  huge.writeUInt32BE(zlib.crc32(huge.subarray(12, 29)), 29);
  writeFileSync(join(path, 'e-huge.png'), huge);
  writeFileSync(join(path, 'notes.txt'), 'not an image');
  writeFileSync(join(path, '.hidden.png'), 'ignored');
  const { dataset, warnings } = open(path);
  assert.equal(dataset.size, 3);
  assert.equal(dataset.kind, 'images');
  assert.deepEqual(dataset.shape, [3, 8, 8]);
  assert.equal(dataset.numClasses, undefined);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /d-broken\.png/);
  assert.match(warnings[1]!, /e-huge\.png'?: PNG of 30000x30000 pixels: a side beyond the limit of 8192/);
  // One epoch visits every image once.
  const colours = [0, 1, 2].map((n) => meanColour(dataset.sample({ start: 0, count: 3 }, 4).x.data, n, 8).map(Math.round));
  const near = (colour: number[], target: number[]): boolean => colour.every((value, c) => Math.abs(value - target[c]!) <= 6);
  for (const target of [[255, 0, 0], [0, 255, 0], [255, 255, 255]]) {
    assert.equal(colours.filter((colour) => near(colour, target)).length, 1, `${target} among ${JSON.stringify(colours)}`);
  }
});

test('folder: a wide image is cropped to its centre square', () => {
  const path = folder('crop');
  // 40 x 20: a red band, then the green centre square, then a blue band.
  writeImage(join(path, 'wide.png'), picture(40, 20, (x) => (x < 10 ? [255, 0, 0, 255] : x < 30 ? [0, 255, 0, 255] : [0, 0, 255, 255])));
  const { dataset } = open(path);
  const { data } = dataset.sample([0], 0).x;
  for (let p = 0; p < 64; p++) {
    assert.ok(Math.abs(data[p]! + 1) < 1e-6 && Math.abs(data[64 + p]! - 1) < 1e-6 && Math.abs(data[128 + p]! + 1) < 1e-6, `pixel ${p}`);
  }
});

test('folder: sub-folders are classes, sorted by name, with images at any depth below them', () => {
  const path = folder('classes');
  writeImage(join(path, 'dogs', 'rex.png'), solid([0, 0, 255, 255]));
  writeImage(join(path, 'dogs', 'puppies', 'tiny.jpeg'), solid([0, 0, 255, 255]), 'jpeg');
  writeImage(join(path, 'cats', 'tom.PNG'), solid([255, 0, 0, 255]));
  mkdirSync(join(path, 'empty'));
  const { dataset } = open(path);
  assert.deepEqual(dataset.classNames, ['cats', 'dogs']);
  assert.equal(dataset.numClasses, 2);
  const batch = dataset.sample({ start: 0, count: 6 }, 1);
  for (let n = 0; n < 6; n++) {
    const [red, , blue] = meanColour(batch.x.data, n, 8);
    assert.equal(batch.labels!.data[n], red! > blue! ? 0n : 1n);
  }
});

test('folder: flipping mirrors about half the samples, each by its own coin', () => {
  const path = folder('flip');
  writeImage(join(path, 'half.png'), picture(8, 8, (x) => (x < 4 ? [0, 0, 0, 255] : [255, 255, 255, 255])));
  const { dataset } = open(path, { flip: true });
  const batch = dataset.sample({ start: 0, count: 200 }, 2);
  let mirrored = 0;
  for (let n = 0; n < 200; n++) {
    const left = batch.x.data[n * 192]!;
    const right = batch.x.data[n * 192 + 7]!;
    assert.equal(Math.abs(left - right), 2);
    if (left > right) mirrored++;
  }
  assert.ok(mirrored > 70 && mirrored < 130, `${mirrored} of 200 mirrored`);
  assert.deepEqual(dataset.sample([150], 2).x.data, batch.x.data.subarray(150 * 192, 151 * 192));
});

test('folder: an empty, missing or unusable folder is a DatasetError naming it', () => {
  const empty = folder('empty');
  writeFileSync(join(empty, 'readme.txt'), 'no images here');
  assert.throws(() => open(empty), (error: Error) => error instanceof DatasetError && error.message.includes(empty) && /no \.png/.test(error.message));
  const missing = join(scratch, 'missing');
  assert.throws(() => open(missing), (error: Error) => error instanceof DatasetError && error.message.includes(missing));
  const broken = folder('broken');
  writeFileSync(join(broken, 'x.jpg'), 'garbage');
  const warnings: string[] = [];
  assert.throws(
    () => folderDataset(broken, { resolution: 8, flip: false, warn: (message) => warnings.push(message) }),
    (error: Error) => error instanceof DatasetError && error.message.includes(broken) && /no usable image/.test(error.message),
  );
  assert.match(warnings[0]!, /x\.jpg.*not a PNG or JPEG/);
});

test('folder: images both at the top level and in sub-folders are refused', () => {
  const path = folder('ambiguous');
  writeImage(join(path, 'top.png'), solid([1, 2, 3, 255]));
  writeImage(join(path, 'class', 'inner.png'), solid([1, 2, 3, 255]));
  assert.throws(() => open(path), (error: Error) => error instanceof DatasetError && /both at its top level and in sub-folders/.test(error.message));
});
