import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeStepPattern, keySteps, parseStepPattern } from '../../src/accel/step-pattern.js';

const keyIndices = (spec: string, steps: number): number[] => keySteps(parseStepPattern(spec), steps).flatMap((key, i) => (key ? [i] : []));

test('step patterns: every, dense-early (Faster Diffusion at 50 steps), ends and lists', () => {
  assert.deepEqual(keyIndices('every:3', 10), [0, 3, 6, 9]);
  assert.deepEqual(keyIndices('dense-early', 50), [0, 1, 2, 3, 5, 10, 15, 25, 35]);
  assert.deepEqual(keyIndices('dense-early', 25), [0, 1, 2, 3, 5, 8, 13, 18]);
  assert.deepEqual(keyIndices('ends:4', 20), [0, 1, 4, 8, 12, 16, 18, 19]);
  assert.deepEqual(keyIndices('2/5/1', 8), [0, 1, 2, 5], 'step 0 is always a key step');
  for (const spec of ['every:3', 'dense-early', 'ends:4', '0/1/2/5']) assert.equal(describeStepPattern(parseStepPattern(spec)), spec);
});

test('step patterns: bad specs name the problem', () => {
  assert.throws(() => parseStepPattern('every'), /needs a period/);
  assert.throws(() => parseStepPattern('every:0'), /integer >= 1, got '0'/);
  assert.throws(() => parseStepPattern('sometimes'), /unknown step pattern 'sometimes'/);
  assert.throws(() => keySteps(parseStepPattern('0/12'), 10), /key step\(s\) 12 lie beyond the last step 9/);
});
