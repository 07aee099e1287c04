import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generate } from '../../src/pipeline/generate.js';
import { drawnConditions, modelBank } from '../../src/pipeline/memory-conditions.js';
import { loadTrainedModel } from '../../src/pipeline/model-store.js';
import { hasten } from '../cli/run-cli.js';

test('the shipped shapes-gmem: a memory-conditioned DiT with its bank beside it, sampled from the CLI; the snippet steers the sample', async () => {
  process.env.HASTEN_ORT_SPIN = '0';
  const trained = await loadTrainedModel('shapes-gmem');
  assert.equal(trained.model.config.condVectorDim, 128);
  assert.equal(trained.model.config.numClasses, 0);
  const bank = await modelBank(trained);
  assert.equal(bank.size, 4000);
  assert.equal(bank.dim, 128);
  assert.ok(bank.labels && bank.labels.every((c) => c >= 0n && c < 8n), 'every entry knows its source image\'s class (what eval scores against)');
  const sample = async (entry: number) => (await generate(trained, { sampler: 'heun', steps: 2, n: 1, seed: 0, memory: drawnConditions(trained, bank, 1, 0, { select: 'uniform', entry }) })).images.data;
  const [a, again, b] = [await sample(0), await sample(0), await sample(1)];
  assert.deepEqual(again, a);
  const change = a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length;
  assert.ok(change > 0.01, `two snippets, one noise: mean pixel change ${change}`);
  const dir = await mkdtemp(join(tmpdir(), 'hasten-shapes-gmem-'));
  try {
    const out = join(dir, 'grid.png');
    const run = await hasten('sample', '--model', 'shapes-gmem', '--steps', '2', '--n', '4', '--out', out);
    assert.equal(run.code, 0, run.err.join('\n'));
    assert.deepEqual([...(await readFile(out)).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
