import assert from 'node:assert/strict';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import { decodeImage, decodePng, encodePng, imageGrid } from '../../src/data/image-io.js';
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
