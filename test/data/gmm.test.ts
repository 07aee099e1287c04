import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DatasetError } from '../../src/data/dataset.js';
import { gmmDataset } from '../../src/data/gmm.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-gmm-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('gmm: draws follow the mixture weights, means and stds of the problem file', () => {
  const path = join(scratch, 'two.json');
  writeFileSync(path, JSON.stringify({ dim: 2, weights: [1, 3], means: [[-5, 0], [5, 1]], stds: [0.5, 1] }));
  const dataset = gmmDataset(path);
  assert.equal(dataset.name, `gmm:${path}`);
  assert.deepEqual(dataset.shape, [2]);
  const n = 20_000;
  const { data } = dataset.sample({ start: 0, count: n }, 9).x;
  let right = 0;
  let rightY = 0;
  let rightYSquares = 0;
  for (let i = 0; i < n; i++) {
    if (data[2 * i]! > 0) {
      right++;
      rightY += data[2 * i + 1]!;
      rightYSquares += data[2 * i + 1]! ** 2;
    }
  }
  assert.ok(Math.abs(right / n - 0.75) < 0.015, `share of the heavier component ${right / n}`);
  assert.ok(Math.abs(rightY / right - 1) < 0.04, `its mean y ${rightY / right}`);
  assert.ok(Math.abs(rightYSquares / right - (rightY / right) ** 2 - 1) < 0.05, 'its variance');
});

test('gmm: a missing or malformed file is a DatasetError naming it', () => {
  assert.throws(() => gmmDataset(join(scratch, 'absent.json')), (error: Error) => error instanceof DatasetError && error.message.includes('absent.json'));
  const bad = join(scratch, 'bad.json');
  writeFileSync(bad, JSON.stringify({ dim: 2, weights: [1], means: [[0]], stds: [1] }));
  assert.throws(() => gmmDataset(bad), (error: Error) => error instanceof DatasetError && error.message.includes('bad.json'));
});
