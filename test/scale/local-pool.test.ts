import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { evaluateModel } from '../../src/pipeline/evaluate-model.js';
import { loadTrainedModel } from '../../src/pipeline/model-store.js';
import { LocalPoolExecutor } from '../../src/scale/local-pool.js';
import { runSharded } from '../../src/scale/run.js';
import type { SamplingSettings } from '../../src/scale/jobs/sampling.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-pool-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// Shards of 4 shapes images at 6 Euler steps: long enough (about a second) to be killed in the middle.
const settings: SamplingSettings = { model: 'shapes', sampler: 'euler', steps: 6, n: 12, seed: 4, batch: 2, guidance: 1, shardSize: 4 };

test('eval on 3 local workers, one of them SIGKILLed mid-shard: the shard runs again, the result equals one process bit for bit', async () => {
  const executor = new LocalPoolExecutor({ workers: 3, threadsPerWorker: 1 });
  const results = join(scratch, 'results');
  const warnings: string[] = [];
  let killed = false;
  try {
    const sharded = await runSharded<Record<string, unknown>>('eval', settings, {
      results, executor, warn: (m) => warnings.push(m),
      onProgress: (done) => {
        // The first progress of any shard: a worker is between two batches of it.
        if (!killed && done > 0) {
          killed = true;
          process.kill(executor.pids[0]!, 'SIGKILL');
        }
      },
    });
    assert.ok(killed);
    assert.ok(warnings.some((w) => /worker died on shard/.test(w)), warnings.join('\n'));
    const single = (await evaluateModel(await loadTrainedModel('shapes'), settings)) as unknown as Record<string, unknown>;
    for (const key of ['fd', 'kid', 'accuracy', 'nfe'] as const) assert.equal(sharded.result[key], single[key], key);
    const [folder] = readdirSync(results);
    assert.deepEqual(readdirSync(join(results, folder!)).filter((f) => !f.startsWith('.')).sort(), ['0+4.safetensors', '4+4.safetensors', '8+4.safetensors']);
  } finally {
    await executor.close();
  }
});
