import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatasetError } from '../../src/data/dataset.js';
import { SHAPE_COLOURS, SHAPE_KINDS, shapesDataset } from '../../src/data/shapes.js';

const N = 400;
const batch = shapesDataset(32).sample({ start: 0, count: N }, 5);
const PIXELS = 32 * 32;

test('shapes: NCHW float32 images in [-1, 1] with labels and captions', () => {
  assert.deepEqual(batch.x.shape, [N, 3, 32, 32]);
  let low = Infinity;
  let high = -Infinity;
  for (const value of batch.x.data) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  assert.ok(low >= -1 && high <= 1, `values in [${low}, ${high}]`);
  assert.ok(high - low > 1.5, 'the images use most of the range');
  assert.equal(batch.labels!.data.length, N);
  assert.equal(batch.captions!.length, N);
});

test('shapes: every class appears, in roughly equal numbers', () => {
  const counts = new Array(SHAPE_KINDS.length).fill(0);
  for (const label of batch.labels!.data) counts[Number(label)]++;
  for (const count of counts) assert.ok(count > 25 && count < 80, `class counts ${counts}`);
});

test('shapes: each caption names the size, the colour, the labelled shape and a place', () => {
  const places = ['top left', 'top', 'top right', 'left', 'centre', 'right', 'bottom left', 'bottom', 'bottom right'];
  const colours = new Set<string>();
  batch.captions!.forEach((caption, i) => {
    const [size, colour, kind, ...place] = caption.split(' ');
    assert.ok(['small', 'medium', 'large'].includes(size!), caption);
    assert.ok(SHAPE_COLOURS.includes(colour!), caption);
    assert.equal(kind, SHAPE_KINDS[Number(batch.labels!.data[i])], caption);
    assert.ok(places.includes(place.join(' ')), caption);
    colours.add(colour!);
  });
  assert.equal(colours.size, SHAPE_COLOURS.length);
});

test('shapes: every shape stands out from its background', () => {
  for (let n = 0; n < N; n++) {
    let darkest = Infinity;
    let brightest = -Infinity;
    for (let p = 0; p < PIXELS; p++) {
      const at = n * 3 * PIXELS + p;
      const luma = 0.299 * batch.x.data[at]! + 0.587 * batch.x.data[at + PIXELS]! + 0.114 * batch.x.data[at + 2 * PIXELS]!;
      darkest = Math.min(darkest, luma);
      brightest = Math.max(brightest, luma);
    }
    assert.ok(brightest - darkest > 0.3, `image ${n} (${batch.captions![n]}) spans luma ${darkest}..${brightest}`);
  }
});

test('shapes: a sample is the same scene at every resolution', () => {
  const small = shapesDataset(16).sample({ start: 0, count: 50 }, 5);
  assert.deepEqual(small.captions, batch.captions!.slice(0, 50));
  assert.deepEqual(small.labels!.data, batch.labels!.data.slice(0, 50));
  // Averaging 2x2 blocks of the 32x32 image gives the 16x16 one up to edge effects of the supersampling grid.
  let difference = 0;
  for (let n = 0; n < 50; n++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) {
          const at = (n * 3 + c) * PIXELS + 2 * y * 32 + 2 * x;
          const pooled = (batch.x.data[at]! + batch.x.data[at + 1]! + batch.x.data[at + 32]! + batch.x.data[at + 33]!) / 4;
          difference += Math.abs(pooled - small.x.data[((n * 3 + c) * 16 + y) * 16 + x]!);
        }
      }
    }
  }
  assert.ok(difference / (50 * 3 * 256) < 0.02, `mean absolute difference ${difference / (50 * 3 * 256)}`);
});

test('shapes: resolutions outside 8..512 are refused', () => {
  assert.throws(() => shapesDataset(4), DatasetError);
  assert.throws(() => shapesDataset(31.5), DatasetError);
});
