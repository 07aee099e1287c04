import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/engine/checkpoint.js';
import { underPrefix } from '../../src/engine/checkpoint-format.js';
import { resolveModelConfig } from '../../src/models/registry.js';
import { objectiveSettings } from '../../src/train/objectives.js';
import { RunFolderError } from '../../src/engine/run-folder.js';
import { TRAIN_DEFAULTS, type TrainConfig, checkpointDir, resumedTrainConfig, train } from '../../src/train/trainer.js';

function tinyConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    ...TRAIN_DEFAULTS,
    data: 'toy2d:two-moons',
    model: resolveModelConfig({ arch: 'mlp', width: 32, depth: 1, embeddingWidth: 16 }),
    objective: objectiveSettings('edm'),
    steps: 6,
    batch: 32,
    warmup: 2,
    checkpointEvery: 3,
    logEvery: 1,
    ...overrides,
  };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hasten-train-'));
}

test('stopping and resuming gives the same parameters as an uninterrupted run', async () => {
  const straight = tempDir();
  const interrupted = tempDir();
  try {
    await train(tinyConfig(), straight);
    let steps = 0;
    const first = await train(tinyConfig(), interrupted, { callbacks: { shouldStop: () => ++steps === 3 } });
    assert.equal(first.step, 3);
    assert.equal(first.stopped, true);
    await train(tinyConfig(), interrupted, { resume: true, callbacks: {} });
    const a = await loadCheckpoint(checkpointDir(straight));
    const b = await loadCheckpoint(checkpointDir(interrupted));
    assert.equal(a.step, 6);
    assert.equal(b.step, 6);
    for (const [name, tensor] of a.params) assert.deepEqual(b.params.get(name)!.data, tensor.data, `parameter ${name} differs after resume`);
    for (const [name, tensor] of a.extra) assert.deepEqual(b.extra.get(name)!.data, tensor.data, `state ${name} differs after resume`);
  } finally {
    rmSync(straight, { recursive: true, force: true });
    rmSync(interrupted, { recursive: true, force: true });
  }
});

test('a resumed run drops the log entries its checkpoint never saw, so each step is logged once', async () => {
  const straight = tempDir();
  const killed = tempDir();
  const loggedSteps = (dir: string): number[] =>
    readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { step: number }).step);
  try {
    await train(tinyConfig(), straight);
    let steps = 0;
    await train(tinyConfig(), killed, { callbacks: { shouldStop: () => ++steps === 3 } });
    // A kill during step 6 leaves the step-3 checkpoint, log entries for steps 4 and 5 and a cut line.
    appendFileSync(join(killed, 'log.jsonl'), '{"step":4,"loss":1}\n{"step":5,"loss":1}\n{"step":6,"lo');
    await train(tinyConfig(), killed, { resume: true, callbacks: {} });
    assert.deepEqual(loggedSteps(killed), loggedSteps(straight));
    assert.deepEqual(loggedSteps(killed), [1, 2, 3, 4, 5, 6]);
  } finally {
    rmSync(straight, { recursive: true, force: true });
    rmSync(killed, { recursive: true, force: true });
  }
});

test('training lowers the loss', async () => {
  const out = tempDir();
  try {
    const losses: number[] = [];
    await train(tinyConfig({ steps: 150, batch: 128, lr: 3e-3, warmup: 10, checkpointEvery: 1000 }), out, { callbacks: { onLog: (e) => losses.push(e.loss!) } });
    const early = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
    const late = losses.slice(-20).reduce((a, b) => a + b) / 20;
    assert.ok(late < 0.8 * early, `loss did not fall: first steps ${early.toFixed(3)}, last steps ${late.toFixed(3)}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('a class-conditional U-Net trains on shapes for a step', async () => {
  const out = tempDir();
  try {
    const config = tinyConfig({
      data: 'shapes',
      resolution: 8,
      cond: 'class',
      model: resolveModelConfig({ arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 8 }),
      steps: 2,
      batch: 4,
    });
    const result = await train(config, out);
    assert.ok(Number.isFinite(result.lastLoss));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('--init starts a run from another run\'s averaged (EMA) parameters', async () => {
  const source = tempDir();
  const fineTune = tempDir();
  try {
    await train(tinyConfig({ steps: 2 }), source);
    await train(tinyConfig({ steps: 1, lr: 0, warmup: 0, seed: 7, init: checkpointDir(source) }), fineTune);
    const a = await loadCheckpoint(checkpointDir(source));
    const b = await loadCheckpoint(checkpointDir(fineTune));
    const averaged = underPrefix('ema/', a.extra);
    assert.equal(averaged.size, a.params.size);
    for (const [name, tensor] of averaged) assert.deepEqual(b.params.get(name)!.data, tensor.data, `parameter ${name} was not taken from --init's EMA`);
  } finally {
    rmSync(source, { recursive: true, force: true });
    rmSync(fineTune, { recursive: true, force: true });
  }
});

test('a trainable filter trains only its parameters; the checkpoint and its EMA hold every one, and a resume keeps them frozen', async () => {
  const out = tempDir();
  try {
    const trainable = (name: string): boolean => name.startsWith('out.');
    let steps = 0;
    await train(tinyConfig(), out, { trainable, callbacks: { shouldStop: () => ++steps === 3 } });
    await train(tinyConfig(), out, { trainable, resume: true });
    const start = await loadCheckpoint(checkpointDir(out));
    const fresh = tempDir();
    try {
      await train(tinyConfig({ steps: 1, lr: 0, warmup: 0 }), fresh);
      const initial = (await loadCheckpoint(checkpointDir(fresh))).params;
      let moved = 0;
      for (const [name, t] of start.params) {
        const changed = t.data.some((v, i) => v !== initial.get(name)!.data[i]);
        if (!trainable(name)) assert.ok(!changed, `${name} is frozen`);
        moved += changed ? 1 : 0;
        assert.ok(start.extra.has(`ema/${name}`), `the EMA holds ${name}`);
      }
      assert.ok(moved > 0, 'the trainable parameters move');
      await assert.rejects(train(tinyConfig(), join(fresh, 'none'), { trainable: () => false }), /no parameter of the model trains/);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('a folder holding a run is neither trained over nor resumed unasked; resume keeps the saved settings and target', async () => {
  const out = tempDir();
  try {
    await train(tinyConfig({ steps: 4, lrDecay: 'cosine' }), out, {});
    const before = await loadCheckpoint(checkpointDir(out));
    await assert.rejects(train(tinyConfig(), out, {}), (error: Error) => {
      assert.ok(error instanceof RunFolderError);
      assert.match(error.message, new RegExp(`${out} already holds a training run \\(checkpoint\\): continue it with --resume, or replace it with --overwrite`));
      return true;
    });
    assert.equal((await loadCheckpoint(checkpointDir(out))).saveId, before.saveId, 'nothing was replaced');
    // Resuming without a new target continues to the saved one (400 stays 400, not 1000), with the saved schedule.
    const resumed = await resumedTrainConfig(out);
    assert.equal(resumed.steps, 4);
    assert.equal(resumed.lrDecay, 'cosine');
    assert.equal((await resumedTrainConfig(out, { steps: 8, checkpointEvery: 2 })).steps, 8);
    await assert.rejects(resumedTrainConfig(out, { lr: 0.5, batch: 16 }), /batch 16 \(saved 32\), lr 0\.5 \(saved 0\.001\)\. Resuming may change only steps, checkpointEvery, logEvery/);
    // train() itself refuses a config that differs from the saved one, and a target behind the saved step.
    await assert.rejects(train(tinyConfig({ steps: 4, lrDecay: 'cosine', lr: 0.5 }), out, { resume: true }), /lr 0\.5 \(saved 0\.001\)/);
    await assert.rejects(train({ ...resumed, steps: 2 }, out, { resume: true }), /already at step 4, past the target of 2 steps/);
    assert.equal((await train({ ...resumed, steps: 6 }, out, { resume: true })).step, 6);
    // Overwrite starts afresh.
    const fresh = await train(tinyConfig({ steps: 2 }), out, { overwrite: true });
    assert.equal(fresh.step, 2);
    assert.equal(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').length, 2);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
