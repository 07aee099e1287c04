import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AUGMENT_DEFAULTS, augmentView, twoViews } from '../../src/gmem/augment.js';

const R = 8;
const ramp = (): Float32Array => Float32Array.from({ length: 3 * R * R }, (_, i) => ((i % R) / (R - 1)) * 1.6 - 0.8);

test('augmentView: the full crop with no flip and no colour change is the identity; a flip mirrors each row', () => {
  const image = ramp();
  const identity = { ...AUGMENT_DEFAULTS, minCropArea: 1, maxAspect: 1, brightness: 0, contrast: 0, saturation: 0, hue: 0, grayscale: 0 };
  const out = new Float32Array(image.length);
  augmentView(image, R, [0, 0.5, 0, 0, 0.9, 0.5, 0.5, 0.5, 0.5, 0.9], identity, out);
  for (let i = 0; i < image.length; i++) assert.ok(Math.abs(out[i]! - image[i]!) < 1e-6);
  augmentView(image, R, [0, 0.5, 0, 0, 0.1, 0.5, 0.5, 0.5, 0.5, 0.9], identity, out);
  for (let row = 0; row < 3 * R; row++) for (let x = 0; x < R; x++) assert.ok(Math.abs(out[row * R + x]! - image[row * R + R - 1 - x]!) < 1e-6);
});

test('augmentView: colour changes stay in [-1, 1]; brightness shifts the mean', () => {
  const image = ramp();
  const settings = { ...AUGMENT_DEFAULTS, minCropArea: 1, maxAspect: 1, contrast: 0, saturation: 0, hue: 0, grayscale: 0 };
  const out = new Float32Array(image.length);
  augmentView(image, R, [0, 0.5, 0, 0, 0.9, 1, 0.5, 0.5, 0.5, 0.9], settings, out);
  const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(out) - mean(image) - settings.brightness) < 0.02);
  augmentView(image, R, [0.3, 0.2, 0.7, 0.1, 0.2, 0, 1, 1, 0.8, 0.5], AUGMENT_DEFAULTS, out);
  assert.ok(out.every((v) => v >= -1 && v <= 1));
});

test('augmentView: a hue rotation keeps the grey of every pixel; grayscale leaves no colour', () => {
  const image = Float32Array.from({ length: 3 * R * R }, (_, i) => Math.sin(i * 1.7) * 0.5);
  const plain = { ...AUGMENT_DEFAULTS, minCropArea: 1, maxAspect: 1, brightness: 0, contrast: 0, saturation: 0 };
  const out = new Float32Array(image.length);
  const plane = R * R;
  augmentView(image, R, [0, 0.5, 0, 0, 0.9, 0.5, 0.5, 0.5, 0.8, 0.9], plain, out);
  for (let p = 0; p < plane; p++) {
    const before = image[p]! + image[plane + p]! + image[2 * plane + p]!;
    assert.ok(Math.abs(out[p]! + out[plane + p]! + out[2 * plane + p]! - before) < 1e-5 || out.some((v) => Math.abs(v) === 1));
  }
  assert.notDeepEqual(out, image);
  augmentView(image, R, [0, 0.5, 0, 0, 0.9, 0.5, 0.5, 0.5, 0.8, 0.1], plain, out);
  for (let p = 0; p < plane; p++) assert.ok(Math.abs(out[p]! - out[plane + p]!) < 1e-6 && Math.abs(out[p]! - out[2 * plane + p]!) < 1e-6);
});

test('twoViews: deterministic per (seed, step), two different views per image', () => {
  const images = Float32Array.from({ length: 2 * 3 * R * R }, (_, i) => Math.sin(i));
  const a = twoViews(images, 2, R, 0, 5);
  assert.deepEqual(a, twoViews(images, 2, R, 0, 5));
  assert.notDeepEqual(a, twoViews(images, 2, R, 0, 6));
  assert.equal(a.length, 4 * 3 * R * R);
  const per = 3 * R * R;
  assert.notDeepEqual(a.subarray(0, per), a.subarray(2 * per, 3 * per));
});

test('augmentView: a half-turn rotation turns the image about its centre', () => {
  const image = Float32Array.from({ length: 3 * R * R }, (_, i) => Math.sin(i * 0.9) * 0.5);
  const plain = { ...AUGMENT_DEFAULTS, minCropArea: 1, maxAspect: 1, brightness: 0, contrast: 0, saturation: 0, hue: 0, grayscale: 0, rotation: 0.5 };
  const out = new Float32Array(image.length);
  const plane = R * R;
  augmentView(image, R, [0, 0.5, 0, 0, 0.9, 0.5, 0.5, 0.5, 0.5, 0.9, 1], plain, out);
  for (let c = 0; c < 3; c++) for (let p = 0; p < plane; p++) assert.ok(Math.abs(out[c * plane + p]! - image[c * plane + plane - 1 - p]!) < 1e-5);
});
