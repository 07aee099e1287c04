import assert from 'node:assert/strict';
import { totalmem } from 'node:os';
import { test } from 'node:test';
import { InputError } from '../../src/engine/input-error.js';
import { checkMemory, formatBytes, memoryBudget } from '../../src/engine/memory-budget.js';

test('checkMemory refuses a request beyond the budget, saying what it would need', () => {
  assert.equal(formatBytes(512), '512 bytes');
  assert.equal(formatBytes(1.5 * 2 ** 30), '1.5 GB');
  checkMemory('a small thing', 1024, 2048);
  assert.throws(() => checkMemory('a grid of 100000000 images', 3 * 2 ** 40, 2 ** 30), (error: Error) =>
    error instanceof InputError && error.message === 'a grid of 100000000 images would need about 3.0 TB of memory, more than the 1.0 GB allowed here (HASTEN_MEMORY_LIMIT_MB); ask for less');
  assert.equal(memoryBudget(), 0.8 * totalmem());
  process.env.HASTEN_MEMORY_LIMIT_MB = '64';
  try {
    assert.equal(memoryBudget(), 64 * 2 ** 20);
    process.env.HASTEN_MEMORY_LIMIT_MB = 'plenty';
    assert.throws(() => memoryBudget(), /HASTEN_MEMORY_LIMIT_MB must be a positive number, got 'plenty'/);
  } finally {
    delete process.env.HASTEN_MEMORY_LIMIT_MB;
  }
});
