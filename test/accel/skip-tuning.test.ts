import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeSkipTuning, parseSkipTuning, skipFactors } from '../../src/accel/skip-tuning.js';

const rounded = (a: Float32Array): number[] => [...a].map((v) => Math.round(v * 1e6) / 1e6);

test('skip-tuning: constant and linear factors, index 0 being the outermost skip', () => {
  assert.deepEqual(rounded(skipFactors(parseSkipTuning('0.8'), 3, 0, 10, 1)), [0.8, 0.8, 0.8]);
  assert.deepEqual(rounded(skipFactors(parseSkipTuning('inner=0.5,outer=1'), 3, 0, 10, 1)), [1, 0.75, 0.5]);
  assert.deepEqual(rounded(skipFactors(parseSkipTuning('inner=1,outer=0.5'), 3, 0, 10, 1)), [0.5, 0.75, 1]);
});

test('skip-tuning: time dependence fades the attenuation along the steps, and the sigma window bounds it', () => {
  const decreasing = parseSkipTuning('factor=0.6,time=decreasing');
  assert.deepEqual(rounded(skipFactors(decreasing, 2, 0, 5, 1)), [0.6, 0.6]);
  assert.deepEqual(rounded(skipFactors(decreasing, 2, 2, 5, 1)), [0.8, 0.8]);
  assert.deepEqual(rounded(skipFactors(decreasing, 2, 4, 5, 1)), [1, 1]);
  const increasing = parseSkipTuning('factor=0.6,time=increasing');
  assert.deepEqual(rounded(skipFactors(increasing, 2, 0, 5, 1)), [1, 1]);
  assert.deepEqual(rounded(skipFactors(increasing, 2, 4, 5, 1)), [0.6, 0.6]);
  const windowed = parseSkipTuning('factor=0.7,sigma=0.5:5');
  assert.deepEqual(rounded(skipFactors(windowed, 2, 0, 5, 10)), [1, 1]);
  assert.deepEqual(rounded(skipFactors(windowed, 2, 0, 5, 2)), [0.7, 0.7]);
  assert.equal(describeSkipTuning(windowed), 'factor=0.7,sigma=0.5:5');
});

test('skip-tuning: malformed or contradictory settings are one clear error', () => {
  assert.throws(() => parseSkipTuning('factor=0.8,inner=0.5'), /either factor or inner\/outer/);
  assert.throws(() => parseSkipTuning('factor=-1'), /factor must be a number > 0, got '-1'/);
  assert.throws(() => parseSkipTuning('strength=2'), /unknown setting 'strength'/);
  assert.throws(() => parseSkipTuning('factor=0.8,time=sometimes'), /time must be constant, decreasing or increasing/);
  assert.throws(() => parseSkipTuning('factor=0.8,sigma=5:1'), /sigma must be LO:HI/);
  assert.throws(() => parseSkipTuning(''), /expected key=value/);
  assert.throws(() => parseSkipTuning('rho=0.8'), /the skip factor is called 'factor' \(e\.g\. factor=0\.8\); rho names the noise level/);
});
