// Two builds side by side: the same build twice trains the same function from the same data (equal
// first losses) and each side gets its own timings; a folder that is not a built checkout is one
// clear error; the memory of a step is measured in a process of its own.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { THIS_BUILD, stepPeakMemoryMb, timeSideBySide } from '../../src/bench/side-by-side.js';

describe('side-by-side training steps', () => {
  test('the same build twice: equal first losses, a timing per side', async () => {
    const sides = await timeSideBySide([THIS_BUILD, THIS_BUILD], { model: 'shapes', batch: 2 }, { warmup: 1, repeats: 2 });
    assert.equal(sides.length, 2);
    assert.equal(sides[0]!.first_loss, sides[1]!.first_loss);
    for (const side of sides) {
      assert.ok(Number.isFinite(side.first_loss) && side.first_loss > 0);
      assert.ok(side.step_ms > 0 && side.step_cpu_ms > 0 && side.images_per_second > 0);
    }
  });

  test('a folder that is not a built checkout is named in the error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hasten-not-a-build-'));
    try {
      await assert.rejects(timeSideBySide([dir], { workload: 'engine' }), /is not a built hasten checkout/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('peak memory of a step, in a process of its own', () => {
    const mb = stepPeakMemoryMb(THIS_BUILD, { model: 'shapes', batch: 2 }, 1);
    assert.ok(mb > 30 && mb < 4096, `${mb} MB`);
  });
});
