import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMPRESS_DEFAULTS, type CompressSettings, compress, phasesOf, readCompressSettings } from '../../src/compress/compress.js';
import { DistillSource, sharedBlocks } from '../../src/compress/distill.js';
import { assembleStudent } from '../../src/compress/assemble.js';
import { openDataset } from '../../src/data/registry.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/engine/checkpoint.js';
import { RunFolderError } from '../../src/engine/run-folder.js';
import type { UNet } from '../../src/models/unet.js';
import { loadTrainedModel } from '../../src/pipeline/model-store.js';
import { type TrainConfig, checkpointDir, train } from '../../src/train/trainer.js';
import { randomFeatureNet, tinyTeacher } from './helpers.js';
import { tinyEncoder } from '../gmem/helpers.js';
import { loadSemanticNetwork, semanticEncoder, semanticFeatureNet, semanticNetworkFor } from '../../src/compress/semantic.js';

const teacher = tinyTeacher({ batch: 4, steps: 2, warmup: 1, logEvery: 1, checkpointEvery: 1 });
const model = teacher.model as UNet;
const trainConfig: TrainConfig = teacher.config;
const remove = ['enc.0.0', 'enc.1.0.attn', 'dec.1.1'];
const settings = (overrides: Partial<CompressSettings> = {}): CompressSettings => ({
  ...COMPRESS_DEFAULTS, teacher: 'tiny', remove, ...overrides,
  training: { ...COMPRESS_DEFAULTS.training, steps: 4, batch: 4, warmup: 1, checkpointEvery: 1, logEvery: 1, ...overrides.training },
});
const tempDir = (): string => mkdtempSync(join(tmpdir(), 'hasten-compress-'));
const logOf = (dir: string): Record<string, number>[] => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));

for (const kind of ['feature-net', 'snippet-encoder'] as const) {
  test(`distill: each loss term is logged; a student equal to its teacher has zero output, feature and semantic loss (${kind})`, async () => {
    const dir = tempDir();
    await saveCheckpoint(join(dir, 'init'), { params: teacher.params, config: {} });
    const semanticNet = kind === 'feature-net' ? semanticFeatureNet(randomFeatureNet()) : semanticEncoder(await tinyEncoder(join(dir, 'encoder'), 6, 16));
    const source = new DistillSource(trainConfig, openDataset('shapes', { resolution: 16 }), { model, params: teacher.params }, model, { data: 1, output: 1, feature: 1, semantic: 1 }, semanticNet);
    try {
      assert.deepEqual([...source.capture], sharedBlocks(model, model));
      await train({ ...trainConfig, steps: 1, init: join(dir, 'init') }, dir, { source, trainable: (name) => name.startsWith('out.') });
      const [first] = logOf(dir);
      assert.ok(first!.data! > 0);
      for (const term of ['output', 'feature', 'semantic'] as const) assert.ok(first![term]! >= 0 && first![term]! < 1e-9, `${term}: ${first![term]}`);
      assert.ok(Math.abs(first!.loss! - first!.data!) < 1e-6);
    } finally {
      await source.dispose();
      await semanticNet.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('semantic network: the encoder shipped for shapes by default (unit-norm snippets), a feature network by path, and clear errors', async () => {
  const shapes = openDataset('shapes');
  const encoder = await semanticNetworkFor(shapes);
  const features = await semanticNetworkFor(shapes, 'features-shapes');
  const dir = tempDir();
  try {
    assert.equal(encoder.kind, 'snippet-encoder');
    assert.equal(features.kind, 'feature-net');
    const images = shapes.sample({ start: 0, count: 3 }, 0).x;
    const snippets = await encoder.features(images);
    assert.equal(snippets.length, 3 * encoder.width);
    for (let row = 0; row < 3; row++) {
      const norm = Math.hypot(...snippets.subarray(row * encoder.width, (row + 1) * encoder.width));
      assert.ok(Math.abs(norm - 1) < 1e-5, `row ${row}: norm ${norm}`);
    }
    await assert.rejects(semanticNetworkFor(openDataset('shapes', { resolution: 16 })), /no snippet encoder ships for shapes/);
    await assert.rejects(semanticNetworkFor(openDataset('shapes', { resolution: 16 }), 'encoder-shapes'), /reads images \[3, 32, 32\], the teacher's data shapes is \[3, 16, 16\]/);
    await assert.rejects(loadSemanticNetwork('shapes'), /holds a "unet" model; the semantic loss needs a snippet encoder/);
    await assert.rejects(loadSemanticNetwork(join(dir, 'nothing')), /no network '.*nothing'/);
  } finally {
    await encoder.dispose();
    await features.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compress: one-shot distillation stops and resumes, and the student loads as a model', async () => {
  const dir = tempDir();
  try {
    let steps = 0;
    const first = await compress(teacher, settings(), dir, { callbacks: { shouldStop: () => ++steps === 2 } });
    assert.equal(first.stopped, true);
    await assert.rejects(compress(teacher, settings(), dir), (e: Error) => e instanceof RunFolderError && /already holds a run \(compress.json\): continue it with --resume, or replace it with --overwrite/.test(e.message));
    const resumed = await compress(teacher, readCompressSettings(dir), dir, { resume: true });
    assert.equal(resumed.stopped, false);
    const log = logOf(dir);
    assert.deepEqual(log.map((e) => e.step), [1, 2, 3, 4]);
    for (const entry of log) assert.ok(entry.data! > 0 && entry.output! >= 0 && entry.feature! >= 0 && !('semantic' in entry));
    const student = await loadTrainedModel(dir);
    assert.deepEqual((student.model as UNet).config.removedModules, remove);
    const start = await loadCheckpoint(join(dir, 'init'));
    const expected = assembleStudent(model, teacher.params, remove).params;
    for (const [name, t] of start.params) assert.deepEqual(t.data, expected.get(name)!.data, `${name} starts from the teacher`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compress: incubation trains each pruned stage alone inside the frozen teacher, then the assembled student', async () => {
  const dir = tempDir();
  try {
    const pruned = ['enc.1.0.attn', 'dec.1.1', 'mid'];
    const job = settings({ remove: pruned, schedule: 'incubate', training: { ...COMPRESS_DEFAULTS.training, steps: 5 } });
    const student = assembleStudent(model, teacher.params, pruned).model;
    const phases = phasesOf(job, student, dir);
    // The bypassed middle keeps no parameter: nothing to incubate there.
    assert.deepEqual(phases.map((p) => [p.name, p.steps, p.removed]), [['incubate enc.1', 1, ['enc.1.0.attn']], ['incubate dec.1', 1, ['dec.1.1']], ['assemble', 3, pruned]]);
    const seen: string[] = [];
    await compress(teacher, job, dir, { callbacks: { onPhase: (phase) => seen.push(phase.name) } });
    assert.deepEqual(seen, phases.map((p) => p.name));
    const stage = await loadCheckpoint(checkpointDir(join(dir, 'incubate', 'enc.1')));
    assert.deepEqual(stage.params.get('mid.0.res.conv0.weight')!.data, teacher.params.get('mid.0.res.conv0.weight')!.data, 'outside its stage the teacher stays frozen');
    assert.notDeepEqual(stage.params.get('enc.1.0.res.conv0.weight')!.data, teacher.params.get('enc.1.0.res.conv0.weight')!.data, 'the stage trains');
    assert.deepEqual(stage.params.get('enc.1.0.attn.self.qkv.weight'), undefined);
    const assembled = await loadCheckpoint(join(dir, 'init'));
    const stageEma = (await loadCheckpoint(checkpointDir(join(dir, 'incubate', 'enc.1')))).extra.get('ema/enc.1.0.res.conv0.weight')!;
    assert.deepEqual(assembled.params.get('enc.1.0.res.conv0.weight')!.data, stageEma.data, 'the assembled student starts from the incubated stage');
    assert.equal((await loadTrainedModel(dir)).step, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
