import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RgbaImage } from '../../src/data/image-io.js';
import { centreSquareTensor } from '../../src/data/resample.js';

function greyRamp(width: number, height: number, level: (x: number, y: number) => number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([level(x, y), level(x, y), level(x, y), 255], 4 * (y * width + x));
  }
  return { width, height, data };
}

test('resizing to the same size changes nothing', () => {
  const image = greyRamp(6, 6, (x, y) => (x * 40 + y * 7) % 256);
  const out = centreSquareTensor(image, 6);
  for (let p = 0; p < 36; p++) assert.ok(Math.abs(out[p]! - ((image.data[4 * p]! / 255) * 2 - 1)) < 1e-6);
});

test('shrinking keeps a linear ramp linear away from the borders, and constants constant', () => {
  const out = centreSquareTensor(greyRamp(64, 64, (x) => 2 * x + 0.5 * 0), 16);
  // Output pixel i covers source pixels [4i, 4i + 4): its mean level is 2·(4i + 1.5).
  for (let i = 1; i < 15; i++) assert.ok(Math.abs(out[16 * 5 + i]! - ((2 * (4 * i + 1.5)) / 255) * 2 + 1) < 1e-3, `pixel ${i}`);
  const flat = centreSquareTensor(greyRamp(50, 30, () => 51), 7);
  for (const value of flat) assert.ok(Math.abs(value - (0.2 * 2 - 1)) < 1e-6);
});

test('a tall image is cropped to its centre square', () => {
  // 10 x 30: black above and below the white centre square (rows 10..19).
  const out = centreSquareTensor(greyRamp(10, 30, (_, y) => (y >= 10 && y < 20 ? 255 : 0)), 5);
  for (const value of out) assert.ok(Math.abs(value - 1) < 1e-6);
});
