import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RngStream } from '../../src/engine/rng.js';
import { linearProbe } from '../../src/gmem/linear-probe.js';

/** Points around one direction per class in 6-d, with noise `spread`. */
function clusters(n: number, spread: number, seed: number): { features: Float32Array; labels: number[] } {
  const noise = RngStream.fromSeed(seed, 'probe').normal({ start: 0, count: n }, 6);
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  const features = noise.map((z, k) => spread * z + (Math.floor(k / 6) % 3 === k % 6 ? 1 : 0));
  return { features, labels };
}

test('linearProbe: separable classes are learned; pure noise stays near chance', () => {
  const separable = linearProbe(clusters(300, 0.1, 0), clusters(300, 0.1, 1), 6, 3);
  assert.ok(separable.testAccuracy > 0.95, `accuracy ${separable.testAccuracy}`);
  const noise = linearProbe(clusters(300, 100, 0), clusters(300, 100, 1), 6, 3);
  assert.ok(noise.testAccuracy < 0.5, `accuracy ${noise.testAccuracy}`);
});
