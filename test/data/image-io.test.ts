import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import jpeg from 'jpeg-js';
import { ImageGridCanvas, decodeImage, decodePng, encodePng, imageGrid, imageHeader } from '../../src/data/image-io.js';
import { float32 } from '../../src/engine/host-tensor.js';

test('PNG: encode then decode gives the same RGBA pixels', () => {
  const width = 7;
  const height = 5;
  const data = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i * 37 + 11) % 256);
  const decoded = decodePng(encodePng({ width, height, data }));
  assert.equal(decoded.width, width);
  assert.equal(decoded.height, height);
  assert.deepEqual(decoded.data, data);
});

test('decodeImage recognises PNG and JPEG by content and names what it cannot read', () => {
  const data = new Uint8Array(16 * 16 * 4).fill(200);
  assert.equal(decodeImage(encodePng({ width: 16, height: 16, data })).width, 16);
  const fromJpeg = decodeImage(jpeg.encode({ width: 16, height: 16, data: Buffer.from(data) }, 90).data);
  assert.equal(fromJpeg.height, 16);
  assert.ok(Math.abs(fromJpeg.data[0]! - 200) <= 3);
  assert.throws(() => decodeImage(new TextEncoder().encode('GIF89a...')), /not a PNG or JPEG/);
});

test('imageGrid lays images out in rows with padding, maps [-1, 1] to 0..255 and clips', () => {
  // Three 2x2 RGB images: image n has red = -1 + n, green clipped from 3, blue -5 (clipped to 0).
  const images = float32([3, 3, 2, 2], Array.from({ length: 36 }, (_, i) => {
    const n = Math.floor(i / 12);
    const channel = Math.floor((i % 12) / 4);
    return [-1 + n, 3, -5][channel]!;
  }));
  const grid = decodePng(imageGrid(images, { columns: 2, padding: 1 }));
  assert.equal(grid.width, 2 * (2 + 1) + 1);
  assert.equal(grid.height, 2 * (2 + 1) + 1);
  const pixel = (x: number, y: number): number[] => Array.from(grid.data.subarray(4 * (y * grid.width + x), 4 * (y * grid.width + x) + 4));
  assert.deepEqual(pixel(0, 0), [255, 255, 255, 255]);
  assert.deepEqual(pixel(1, 1), [0, 255, 0, 255]);
  assert.deepEqual(pixel(4, 2), [128, 255, 0, 255]);
  assert.deepEqual(pixel(2, 5), [255, 255, 0, 255]);
  // The unused fourth cell stays white.
  assert.deepEqual(pixel(5, 5), [255, 255, 255, 255]);
});

test('imageGrid magnifies by pixel repetition and shows grey images as grey', () => {
  const grid = decodePng(imageGrid(float32([1, 1, 1, 2], [-1, 1]), { padding: 0, scale: 3 }));
  assert.equal(grid.width, 6);
  assert.equal(grid.height, 3);
  assert.deepEqual(Array.from(grid.data.subarray(4 * 2, 4 * 2 + 4)), [0, 0, 0, 255]);
  assert.deepEqual(Array.from(grid.data.subarray(4 * (2 * 6 + 3), 4 * (2 * 6 + 3) + 4)), [255, 255, 255, 255]);
  assert.throws(() => imageGrid(float32([1, 2, 2, 2])), /expected images/);
});

/** A PNG of the given header whose image data is `idat` (raw zlib bytes), with correct CRCs: what a hostile file looks like. */
function craftedPng(width: number, height: number, idat: Uint8Array = zlib.deflateSync(Buffer.alloc(16))): Buffer {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

/** A real JPEG with its frame header rewritten to claim width x height. */
function jpegClaiming(width: number, height: number): Buffer {
  const bytes = Buffer.from(jpeg.encode({ width: 8, height: 8, data: Buffer.alloc(8 * 8 * 4, 128) }, 90).data);
  const frame = bytes.indexOf(Buffer.from([0xff, 0xc0]));
  bytes.writeUInt16BE(height, frame + 5);
  bytes.writeUInt16BE(width, frame + 7);
  return bytes;
}

test('imageHeader reads the size of PNG and JPEG files without decoding them', () => {
  assert.deepEqual(imageHeader(encodePng({ width: 7, height: 5, data: new Uint8Array(7 * 5 * 4) })), { format: 'PNG', width: 7, height: 5 });
  assert.deepEqual(imageHeader(jpegClaiming(300, 200)), { format: 'JPEG', width: 300, height: 200 });
  assert.throws(() => imageHeader(Buffer.from([0xff, 0xd8, 0xff, 0xd9])), /JPEG without a frame header/);
  assert.throws(() => imageHeader(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0])), /PNG ends before its IHDR header/);
});

test('decodeImage refuses sides beyond the limit before decoding, and image data too short for the size it claims', () => {
  const started = performance.now();
  // 30000 x 30000 RGB would need 2.7 GB raw and 3.6 GB as RGBA.
  const huge = craftedPng(30000, 30000);
  assert.ok(huge.length < 100);
  assert.throws(() => decodeImage(huge), /PNG of 30000x30000 pixels: a side beyond the limit of 8192 \(HASTEN_MAX_IMAGE_SIDE\)/);
  assert.throws(() => decodeImage(craftedPng(10000, 10000)), /10000x10000 pixels: a side beyond the limit of 8192/);
  assert.throws(() => decodeImage(jpegClaiming(20000, 300)), /JPEG of 20000x300 pixels: a side beyond the limit of 8192/);
  // Within the limit, but 58 bytes of image data cannot hold 4000 x 4000 pixels (deflate packs at most 1032:1).
  assert.throws(() => decodeImage(craftedPng(4000, 4000)), /PNG of 4000x4000 pixels holds only \d+ bytes of compressed image data/);
  assert.ok(performance.now() - started < 1000, 'refused before any large allocation');
  // The limit is configurable, per call and by the environment.
  const small = encodePng({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 4).fill(255) });
  assert.throws(() => decodeImage(small, { maxSide: 8 }), /a side beyond the limit of 8/);
  assert.equal(decodeImage(small, { maxSide: 16 }).width, 16);
  process.env.HASTEN_MAX_IMAGE_SIDE = '12';
  try {
    assert.throws(() => decodeImage(small), /beyond the limit of 12 \(HASTEN_MAX_IMAGE_SIDE\)/);
    process.env.HASTEN_MAX_IMAGE_SIDE = 'lots';
    assert.throws(() => decodeImage(small), /HASTEN_MAX_IMAGE_SIDE must be a positive integer, got 'lots'/);
  } finally {
    delete process.env.HASTEN_MAX_IMAGE_SIDE;
  }
});

test('ImageGridCanvas paints a grid batch by batch, the same as imageGrid, and refuses a grid too large for memory', () => {
  const images = float32([5, 3, 2, 2], Array.from({ length: 60 }, (_, i) => Math.sin(i)));
  const canvas = new ImageGridCanvas(5, [3, 2, 2], { scale: 2 });
  canvas.paint(3, float32([2, 3, 2, 2], images.data.slice(36)));
  canvas.paint(0, float32([3, 3, 2, 2], images.data.slice(0, 36)));
  assert.deepEqual(decodePng(canvas.png()), decodePng(imageGrid(images, { scale: 2 })));
  assert.throws(() => canvas.paint(4, images), /cells 4\.\.8 are outside the grid of 5/);
  assert.throws(() => new ImageGridCanvas(100_000_000, [3, 32, 32]), /a grid of 100000000 images of 3x32x32 at scale 1 \(\d+x\d+ pixels\) would need about [\d.]+ [GT]B of memory/);
});
