import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalise } from '../../src/gmem/bank.js';
import { interpolatedConditions } from '../../src/pipeline/memory-conditions.js';

test('interpolatedConditions: normalised rows from a to b, the ends exact', () => {
  const a = Float32Array.from([2, 0, 0]);
  const b = Float32Array.from([0, 0, 5]);
  const { snippets } = interpolatedConditions(a, b, 3);
  assert.deepEqual(snippets.subarray(0, 3), normalise(a));
  assert.deepEqual(snippets.subarray(6, 9), normalise(b));
  assert.ok(Math.abs(snippets[3]! - Math.SQRT1_2) < 1e-6 && Math.abs(snippets[5]! - Math.SQRT1_2) < 1e-6);
  assert.throws(() => interpolatedConditions(a, new Float32Array(2), 2), /widths 3 and 2/);
});
