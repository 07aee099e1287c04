import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { batches, type Dataset, type DatasetBatch, selectionIndices } from '../../src/data/dataset.js';
import { encodePng } from '../../src/data/image-io.js';
import { openDataset } from '../../src/data/registry.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-dataset-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function gmmFile(): string {
  const path = join(scratch, 'mixture.json');
  writeFileSync(path, JSON.stringify({ dim: 3, weights: [1, 2], means: [[0, 0, 0], [4, 4, 4]], stds: [0.5, 1] }));
  return path;
}

/** A folder of five small distinct solid-colour PNGs. */
function imageFolder(): string {
  const folder = join(scratch, 'images');
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < 5; i++) {
    const data = new Uint8Array(12 * 12 * 4);
    for (let p = 0; p < 144; p++) data.set([40 * i, 200 - 30 * i, (p % 12) * 20, 255], 4 * p);
    writeFileSync(join(folder, `image-${i}.png`), encodePng({ width: 12, height: 12, data }));
  }
  return folder;
}

function everyDataset(): Dataset[] {
  return [
    openDataset('toy2d:eight-gaussians'),
    openDataset('toy2d:two-moons'),
    openDataset('toy2d:checkerboard'),
    openDataset('toy2d:swiss-roll'),
    openDataset(`gmm:${gmmFile()}`),
    openDataset('shapes', { resolution: 16 }),
    openDataset(`folder:${imageFolder()}`, { resolution: 8, flip: true }),
  ];
}

/** Sample `position` of a batch as plain values, for comparing across batches. */
function row(batch: DatasetBatch, position: number): { x: number[]; label?: bigint; caption?: string } {
  const per = batch.x.data.length / batch.indices.length;
  return {
    x: Array.from(batch.x.data.subarray(position * per, (position + 1) * per)),
    ...(batch.labels && { label: batch.labels.data[position] }),
    ...(batch.captions && { caption: batch.captions[position] }),
  };
}

test('same seed, same samples; another seed, other samples', () => {
  for (const dataset of everyDataset()) {
    const first = dataset.sample({ start: 0, count: 12 }, 7);
    assert.deepEqual(dataset.sample({ start: 0, count: 12 }, 7), first, dataset.name);
    assert.notDeepEqual(dataset.sample({ start: 0, count: 12 }, 8).x.data, first.x.data, dataset.name);
  }
});

test('sample k depends only on (seed, k), not on the batch it is drawn in', () => {
  for (const dataset of everyDataset()) {
    const run = dataset.sample({ start: 0, count: 20 }, 3);
    const picked = dataset.sample([17, 2, 9, 2], 3);
    assert.deepEqual(picked.indices, [17, 2, 9, 2]);
    [17, 2, 9, 2].forEach((k, position) => assert.deepEqual(row(picked, position), row(run, k), `${dataset.name} sample ${k}`));
    const shifted = dataset.sample({ start: 5, count: 3 }, 3);
    [5, 6, 7].forEach((k, position) => assert.deepEqual(row(shifted, position), row(run, k), `${dataset.name} sample ${k}`));
  }
});

test('batches have the promised shapes, labels and captions', () => {
  for (const dataset of everyDataset()) {
    const batch = dataset.sample({ start: 0, count: 4 }, 0);
    assert.deepEqual(batch.x.shape, [4, ...dataset.shape], dataset.name);
    assert.equal(batch.labels !== undefined, dataset.numClasses !== undefined, dataset.name);
    assert.equal(batch.captions !== undefined, dataset.hasCaptions, dataset.name);
    if (batch.labels) assert.equal(dataset.classNames?.length, dataset.numClasses, dataset.name);
  }
});

test('a run resumed at step s gets exactly the batches of an uninterrupted run', () => {
  const dataset = openDataset('toy2d:two-moons');
  const uninterrupted = [...batches(dataset, { batchSize: 6, seed: 11, steps: 5 })];
  const resumed = [...batches(dataset, { batchSize: 6, seed: 11, firstStep: 3, steps: 2 })];
  assert.deepEqual(resumed, uninterrupted.slice(3));
  assert.deepEqual(uninterrupted[1]!.indices, [6, 7, 8, 9, 10, 11]);
});

test('selections are checked', () => {
  assert.deepEqual(selectionIndices({ start: 4, count: 3 }), [4, 5, 6]);
  assert.throws(() => selectionIndices([1, -1]), /non-negative/);
  assert.throws(() => selectionIndices([0.5]), /non-negative safe integer/);
});
