import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TOY2D_NAMES, toy2dDataset } from '../../src/data/toy2d.js';

const N = 40_000;

test('every toy distribution is standardised: mean 0 and average per-coordinate variance 1', () => {
  for (const name of TOY2D_NAMES) {
    const { data } = toy2dDataset(name).sample({ start: 0, count: N }, 1).x;
    let sumX = 0;
    let sumY = 0;
    let sumSquares = 0;
    for (let i = 0; i < N; i++) {
      sumX += data[2 * i]!;
      sumY += data[2 * i + 1]!;
      sumSquares += data[2 * i]! ** 2 + data[2 * i + 1]! ** 2;
    }
    assert.ok(Math.abs(sumX / N) < 0.03 && Math.abs(sumY / N) < 0.03, `${name}: mean (${sumX / N}, ${sumY / N})`);
    const variance = sumSquares / N / 2 - ((sumX / N) ** 2 + (sumY / N) ** 2) / 2;
    assert.ok(Math.abs(variance - 1) < 0.03, `${name}: average variance ${variance}`);
  }
});

test('eight-gaussians: each point lies by its labelled component on a circle', () => {
  const batch = toy2dDataset('eight-gaussians').sample({ start: 0, count: 4000 }, 2);
  const radius = 1 / Math.sqrt(0.5 + 0.125 ** 2);
  const counts = new Array(8).fill(0);
  for (let i = 0; i < 4000; i++) {
    const label = Number(batch.labels!.data[i]);
    counts[label]++;
    const x = batch.x.data[2 * i]!;
    const y = batch.x.data[2 * i + 1]!;
    const centreX = radius * Math.cos((label * Math.PI) / 4);
    const centreY = radius * Math.sin((label * Math.PI) / 4);
    // 6 standard deviations of the component's noise.
    assert.ok(Math.hypot(x - centreX, y - centreY) < 6 * 0.125 * radius, `point ${i} (${x}, ${y}) far from component ${label}`);
  }
  for (const count of counts) assert.ok(Math.abs(count - 500) < 100, `component counts ${counts}`);
});

test('two-moons: half the points on each moon, the upper one above the lower one on average', () => {
  const batch = toy2dDataset('two-moons').sample({ start: 0, count: 4000 }, 3);
  let upper = 0;
  let upperY = 0;
  let lowerY = 0;
  for (let i = 0; i < 4000; i++) {
    if (batch.labels!.data[i] === 0n) {
      upper++;
      upperY += batch.x.data[2 * i + 1]!;
    } else lowerY += batch.x.data[2 * i + 1]!;
  }
  assert.ok(Math.abs(upper - 2000) < 150, `upper moon has ${upper} of 4000`);
  assert.ok(upperY / upper > lowerY / (4000 - upper) + 0.5);
});

test('checkerboard: every point lies in a square whose row + column is even, and all 8 squares are used', () => {
  const { data } = toy2dDataset('checkerboard').sample({ start: 0, count: 4000 }, 4).x;
  const cell = Math.sqrt(3) / 2;
  const used = new Set<string>();
  for (let i = 0; i < 4000; i++) {
    const column = Math.floor(data[2 * i]! / cell + 2);
    const row = Math.floor(data[2 * i + 1]! / cell + 2);
    assert.ok(column >= 0 && column < 4 && row >= 0 && row < 4 && (column + row) % 2 === 0, `point ${i} in square (${column}, ${row})`);
    used.add(`${column},${row}`);
  }
  assert.equal(used.size, 8);
});
