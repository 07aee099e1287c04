import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePng } from '../../src/data/image-io.js';
import { scatterPlot } from '../../src/data/scatter-plot.js';
import { float32 } from '../../src/engine/host-tensor.js';

test('scatterPlot draws each point where its first two coordinates say, coloured by class', () => {
  // Points at (0.5, 0.5) (class 0) and (-0.5, -0.5) (class 1), a third coordinate ignored.
  const png = scatterPlot(float32([2, 3], [0.5, 0.5, 9, -0.5, -0.5, 9]), { size: 100, extent: 1, labels: [0n, 1n] });
  const image = decodePng(png);
  assert.equal(image.width, 100);
  const pixel = (x: number, y: number): number[] => Array.from(image.data.subarray(4 * (y * 100 + x), 4 * (y * 100 + x) + 3));
  const upperRight = pixel(75, 25);
  const lowerLeft = pixel(25, 75);
  assert.ok(upperRight[2]! > upperRight[0]!, `class 0 is blue, got ${upperRight}`);
  assert.ok(lowerLeft[0]! > lowerLeft[2]!, `class 1 is orange, got ${lowerLeft}`);
  assert.deepEqual(pixel(75, 75), [255, 255, 255]);
  assert.throws(() => scatterPlot(float32([2, 1], [0, 1])), /dim >= 2/);
});
