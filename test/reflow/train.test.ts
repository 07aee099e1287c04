import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadCheckpoint } from '../../src/engine/checkpoint.js';
import { resolveModelConfig } from '../../src/models/registry.js';
import { loadTrainedModel } from '../../src/pipeline/model-store.js';
import { objectiveSettings } from '../../src/train/objectives.js';
import { TRAIN_DEFAULTS, checkpointDir, train } from '../../src/train/trainer.js';
import { lossByTime } from '../../src/reflow/loss-by-time.js';
import { REFLOW_LOSS_DEFAULTS } from '../../src/reflow/loss.js';
import { generatePairs, openPairs } from '../../src/reflow/pairs.js';
import { timeDistribution } from '../../src/reflow/timesteps.js';
import { type ReflowSettings, reflowTrainConfig, trainReflow } from '../../src/reflow/train.js';
import { modelVelocity } from '../../src/reflow/velocity.js';
import { tinyTeacher } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-reflow-train-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let teacherDir: string;
const pairDir = join(scratch, 'pairs');

before(async () => {
  teacherDir = await tinyTeacher(scratch, 40);
  await generatePairs({ teacher: teacherDir, sampler: 'heun', steps: 8, guidance: 1, count: 1024, seed: 0, shardSize: 512, batch: 512 }, pairDir);
});

const reflow = (overrides: Partial<ReflowSettings> = {}): ReflowSettings => ({
  pairs: pairDir, time: timeDistribution('uniform'), loss: { ...REFLOW_LOSS_DEFAULTS, kind: 'l2' }, realFraction: 0, ...overrides,
});

/** The plain reflow loss averaged over ten times, on the same 512 pairs: a noise-free measure. */
async function meanReflowLoss(dir: string): Promise<number> {
  const model = await loadTrainedModel(dir);
  const velocity = modelVelocity(model);
  try {
    const curve = await lossByTime(model, velocity, await openPairs(pairDir), { bins: 10, count: 512, batch: 512 });
    return curve.reduce((total, point) => total + point.loss, 0) / curve.length;
  } finally {
    await velocity.dispose();
  }
}

test('reflow training starts from the teacher and lowers the reflow loss on its pairs', async () => {
  const teacher = await loadTrainedModel(teacherDir);
  const config = reflowTrainConfig(teacher, await openPairs(pairDir), reflow(), { steps: 120, batch: 128, lr: 1e-2, warmup: 5, checkpointEvery: 1000 });
  assert.deepEqual([config.objective.name, config.objective.network, config.init], ['rf', 'edm', teacher.location]);
  const out = join(scratch, 'student');
  await trainReflow(config, out);
  const before = await meanReflowLoss(teacherDir);
  const after = await meanReflowLoss(out);
  assert.ok(after < 0.7 * before, `reflow loss did not fall: teacher ${before.toFixed(3)}, student ${after.toFixed(3)}`);
});

test('resuming a reflow run (u-shaped t, x0-space perceptual Huber, real data mixed in) is exact', async () => {
  const teacher = await loadTrainedModel(teacherDir);
  const settings = reflow({ time: timeDistribution('u-shaped'), loss: { ...REFLOW_LOSS_DEFAULTS, kind: 'perceptual-huber' }, realFraction: 0.25 });
  const config = reflowTrainConfig(teacher, await openPairs(pairDir), settings, { steps: 6, batch: 32, warmup: 2, checkpointEvery: 3, labelDropout: 0.2 });
  const straight = join(scratch, 'straight');
  const interrupted = join(scratch, 'interrupted');
  await trainReflow(config, straight);
  let steps = 0;
  await trainReflow(config, interrupted, { callbacks: { shouldStop: () => ++steps === 3 } });
  await trainReflow(config, interrupted, { resume: true, callbacks: {} });
  const a = await loadCheckpoint(checkpointDir(straight));
  const b = await loadCheckpoint(checkpointDir(interrupted));
  for (const [name, tensor] of a.params) assert.deepEqual(b.params.get(name)!.data, tensor.data, `parameter ${name} differs after resume`);
});

test('the perceptual term traces the frozen shapes feature network into a U-Net student\'s training graph', async () => {
  const unet = resolveModelConfig({ arch: 'unet', resolution: 32, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 8 });
  const imageTeacher = join(scratch, 'unet-teacher');
  await train({ ...TRAIN_DEFAULTS, data: 'shapes', model: unet, objective: objectiveSettings('edm'), cond: 'class', steps: 1, batch: 2 }, imageTeacher);
  const imagePairs = join(scratch, 'image-pairs');
  await generatePairs({ teacher: imageTeacher, sampler: 'euler', steps: 1, guidance: 1, count: 4, seed: 0, shardSize: 4, batch: 4 }, imagePairs);
  const teacher = await loadTrainedModel(imageTeacher);
  const config = reflowTrainConfig(teacher, await openPairs(imagePairs), reflow({ pairs: imagePairs, loss: { ...REFLOW_LOSS_DEFAULTS, kind: 'perceptual-huber' } }), { steps: 2, batch: 2, warmup: 1 });
  const result = await trainReflow(config, join(scratch, 'unet-student'));
  assert.ok(Number.isFinite(result.lastLoss) && result.lastLoss > 0);
});

test('pairs of another shape or without the labels a conditional model needs are refused', async () => {
  const teacher = await loadTrainedModel(teacherDir);
  const pairs = await openPairs(pairDir);
  assert.throws(() => reflowTrainConfig(teacher, { ...pairs, dataShape: [3] }, reflow()), /are 3 samples but .* is a 2 model/);
  assert.throws(() => reflowTrainConfig(teacher, { ...pairs, numClasses: 0 }, reflow()), /has 2 classes but the pairs in .* have no labels/);
  assert.throws(() => reflowTrainConfig(teacher, pairs, reflow({ realFraction: 1.5 })), /real-data fraction must be in \[0, 1\]/);
});
