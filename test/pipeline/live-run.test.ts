import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { toy2dDataset } from '../../src/data/toy2d.js';
import { generate } from '../../src/pipeline/generate.js';
import { LiveRun } from '../../src/pipeline/live-run.js';
import { toyConfig } from '../../src/pipeline/toy-run.js';
import { train } from '../../src/train/trainer.js';

const config = toyConfig({ data: 'two-moons', steps: 8, batch: 32, lr: 2e-3, width: 32, depth: 1, seed: 3 });

test('LiveRun: a run stepped in memory takes the steps train() takes, loss for loss', async () => {
  const run = new LiveRun(config, toy2dDataset('two-moons'));
  const out = mkdtempSync(join(tmpdir(), 'hasten-live-run-'));
  try {
    while (!run.done) await run.advance();
    await train(config, out);
    const logged = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { loss: number }).loss);
    assert.deepEqual(run.losses, logged);
    assert.equal(run.step, 8);
    assert.ok(run.stepsPerSecond() > 0);
  } finally {
    await run.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});

test('LiveRun: its averaged weights sample as a model, and stay put while training goes on', async () => {
  const run = new LiveRun(config, toy2dDataset('two-moons'));
  try {
    await run.advance();
    await run.advance();
    const trained = run.trained('live');
    const before = Float32Array.from(trained.params.values().next().value!.data);
    await run.advance();
    assert.deepEqual(trained.params.values().next().value!.data, before, 'trained() is a copy');
    const samples = await generate(trained, { sampler: 'heun', steps: 3, n: 5, seed: 0 });
    assert.deepEqual(samples.images.shape, [5, 2]);
    assert.ok(samples.images.data.every(Number.isFinite));
  } finally {
    await run.dispose();
  }
});
