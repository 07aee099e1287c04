import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGuidanceInterval } from '../../src/cli/sampling.js';
import { UsageError } from '../../src/cli/command.js';
import { InputError } from '../../src/engine/input-error.js';
import { parseAccelFlags } from '../../src/accel/config.js';
import { AccelSettingError } from '../../src/accel/errors.js';
import { makeGrid, parseGridSpec } from '../../src/diffusion/grids.js';
import { createModel } from '../../src/models/registry.js';
import { cycledClasses, generate } from '../../src/pipeline/generate.js';
import type { TrainedModel } from '../../src/pipeline/model-store.js';
import { objectiveProcess, objectiveSettings } from '../../src/train/objectives.js';
import { randomParams } from '../models/helpers.js';

const model = createModel({ arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 3 });
const trained = {
  name: 'tiny', location: '', model, params: randomParams(model, 2),
  config: { objective: objectiveSettings('edm'), dataShape: [3, 8, 8], classNames: null },
} as unknown as TrainedModel;
const steps = 6;
const sampleWith = (guidance: number, guidanceInterval?: { low: number; high: number }) =>
  generate(trained, { sampler: 'ddim', steps, n: 3, seed: 1, guidance, guidanceInterval });

test('generate: a guided call counts its conditional and unconditional halves as two evaluations', async () => {
  const plain = await sampleWith(1);
  const guided = await sampleWith(2);
  assert.equal(plain.nfe, steps);
  assert.equal(guided.nfe, 2 * steps);
  assert.ok(guided.flops > 1.9 * plain.flops, `${guided.flops} vs ${plain.flops}`);
});

test('generate: a guidance interval guides only the steps whose noise level lies inside it', async () => {
  const levels = Array.from(makeGrid(objectiveProcess(trained.config.objective), parseGridSpec('karras'), steps)).slice(0, steps);
  const plain = await sampleWith(1);
  const guided = await sampleWith(2);
  assert.deepEqual((await sampleWith(2, { low: 0, high: 1e6 })).images.data, guided.images.data, 'an interval holding every level is plain guidance');
  const outside = await sampleWith(2, { low: 1e5, high: 1e6 });
  assert.deepEqual(outside.images.data, plain.images.data, 'an interval holding no level is the unguided model');
  assert.equal(outside.nfe, steps);
  // Between the third and fourth noisiest levels: guidance at the first three steps only.
  const middle = await sampleWith(2, { low: (levels[2]! + levels[3]!) / 2, high: 1e6 });
  assert.equal(middle.nfe, steps + 3);
  assert.notDeepEqual(middle.images.data, plain.images.data);
  assert.notDeepEqual(middle.images.data, guided.images.data);
});

test('--guidance-interval: LOW,HIGH noise levels, and a clear error for anything else', () => {
  assert.deepEqual(parseGuidanceInterval('0.3,5', 2), { low: 0.3, high: 5 });
  assert.equal(parseGuidanceInterval(undefined, 2), undefined);
  for (const bad of ['5,0.3', '1', 'a,b', '-1,2', '1,2,3']) assert.throws(() => parseGuidanceInterval(bad, 2), (e: Error) => e instanceof UsageError && /--guidance-interval expects LOW,HIGH/.test(e.message), bad);
  assert.throws(() => parseGuidanceInterval('0.3,5', 1), /needs --guidance other than 1/);
});

test('generate: a guidance interval with a caching method is refused before any network runs', async () => {
  await assert.rejects(
    generate(trained, { sampler: 'ddim', steps, n: 3, seed: 1, guidance: 2, guidanceInterval: { low: 1, high: 10 }, accel: parseAccelFlags({ deepcache: 'every=2' }) }),
    (e: Error) => e instanceof AccelSettingError && /guidance interval does not combine with deepcache/.test(e.message));
});

test('generate: settings that cannot work are refused before any network runs', async () => {
  const refused: [Partial<Parameters<typeof generate>[1]>, RegExp][] = [
    [{ guidance: NaN }, /guidance must be a finite number, got NaN/],
    [{ guidance: Infinity }, /guidance must be a finite number, got Infinity/],
    [{ n: 0 }, /n must be a positive integer, got 0/],
    [{ steps: 2.5 }, /steps must be a positive integer, got 2.5/],
    [{ batch: -1 }, /batch must be a positive integer, got -1/],
  ];
  for (const [settings, message] of refused) {
    await assert.rejects(generate(trained, { sampler: 'ddim', steps, n: 3, seed: 1, ...settings }), message, JSON.stringify(settings));
  }
  const unconditional = { ...trained, model: createModel({ ...model.config, numClasses: 0 }) } as TrainedModel;
  await assert.rejects(generate(unconditional, { sampler: 'ddim', steps, n: 3, seed: 1, guidance: 2 }), /guidance 2 needs a class-conditional model: 'tiny' is unconditional/);
});

test('generate: a sample that overflows stops with an error naming the step', async () => {
  await assert.rejects(generate(trained, { sampler: 'heun', steps, n: 3, seed: 1, guidance: 1e300 }), (error: Error) => {
    assert.equal(error.name, 'NonFiniteSample');
    assert.match(error.message, /sampling went non-finite at step 1 of 6 .*sample 1 of the batch of 3/);
    return true;
  });
});

test('generate: sampler settings reach the sampler, and stochastic samples do not depend on the batch split', async () => {
  const churned = (batch: number, seed = 1) => generate(trained, { sampler: 'heun', samplerSettings: { churn: 40 }, steps: 4, n: 3, seed, batch });
  const deterministic = await generate(trained, { sampler: 'heun', steps: 4, n: 3, seed: 1 });
  const whole = await churned(3);
  assert.notDeepEqual(whole.images.data, deterministic.images.data, 'churn changes the samples');
  assert.deepEqual((await churned(2)).images.data, whole.images.data, 'the same samples in batches of 2 and 1');
  assert.deepEqual((await churned(3)).images.data, whole.images.data, 'reproducible');
  assert.notDeepEqual((await churned(3, 2)).images.data, whole.images.data, 'another seed, other noise');
  const eta = await generate(trained, { sampler: 'ddim', samplerSettings: { eta: 1 }, steps: 4, n: 3, seed: 1, batch: 1 });
  assert.deepEqual(eta.images.data, (await generate(trained, { sampler: 'ddim', samplerSettings: { eta: 1 }, steps: 4, n: 3, seed: 1 })).images.data);
  await assert.rejects(generate(trained, { sampler: 'euler', samplerSettings: { eta: 1 }, steps: 4, n: 1, seed: 1 }), (e: Error) => e instanceof InputError && /sampler 'euler' has no setting 'eta'/.test(e.message));
});

test('generate: a request too large for memory is refused before any work; streamed samples are the kept ones', async () => {
  const started = performance.now();
  await assert.rejects(generate(trained, { sampler: 'ddim', steps, n: 100_000_000, seed: 1 }), (error: Error) =>
    error instanceof InputError && /generating 100000000 samples of 3x8x8 in batches of 64 would need about [\d.]+ GB of memory/.test(error.message));
  process.env.HASTEN_MEMORY_LIMIT_MB = '16';
  try {
    await assert.rejects(generate(trained, { sampler: 'ddim', steps, n: 3000, batch: 3000, seed: 1, keep: false }), /in batches of 3000 \(streamed\) would need about/);
  } finally {
    delete process.env.HASTEN_MEMORY_LIMIT_MB;
  }
  assert.ok(performance.now() - started < 2000, 'refused at once');
  const kept = await generate(trained, { sampler: 'ddim', steps: 3, n: 5, batch: 2, seed: 1 });
  const streamed = new Float32Array(kept.images.data.length);
  const starts: number[] = [];
  const result = await generate(trained, { sampler: 'ddim', steps: 3, n: 5, batch: 2, seed: 1, keep: false, onSamples: (start, images) => {
    starts.push(start);
    streamed.set(images.data, start * 3 * 8 * 8);
  } });
  assert.deepEqual(starts, [0, 2, 4]);
  assert.deepEqual(result.images.shape, [0, 3, 8, 8]);
  assert.deepEqual(streamed, kept.images.data);
});

test('cycledClasses: given classes cycled, else every label but the null class in turn, the same for sample k in any batch', () => {
  assert.deepEqual(cycledClasses(5, 3), [0, 1, 2, 0, 1]);
  assert.deepEqual(cycledClasses(5, 4, undefined, { nullClass: 1 }), [0, 2, 3, 0, 2]);
  assert.deepEqual(cycledClasses(3, 4, [2, 0]), [2, 0, 2]);
  assert.deepEqual(cycledClasses(2, 4, [2, 0, 3], { first: 1 }), [0, 3]);
  assert.deepEqual(cycledClasses(3, 4, undefined, { nullClass: 0, first: 2 }), [3, 1, 2]);
  assert.throws(() => cycledClasses(1, 4, [4]), (e: Error) => e instanceof InputError && /class 4 is out of range: the model's labels are 0\.\.3$/.test(e.message));
  assert.throws(() => cycledClasses(1, 4, [1.5], { nullClass: 3 }), /class 1\.5 is out of range: the model's labels are 0\.\.3, 3 being its null class/);
  assert.throws(() => cycledClasses(1, 4, [3], { nullClass: 3 }), /class 3 is the null class \(no class\); pick a class/);
});
