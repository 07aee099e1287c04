import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openDataset } from '../../src/data/registry.js';
import { buildBank, saveBank } from '../../src/gmem/bank.js';
import { saveEncoder, type SnippetEncoder } from '../../src/gmem/encoder.js';
import { bankSource, memoryModelSettings, openBankParts } from '../../src/gmem/training.js';
import { DiT } from '../../src/models/dit.js';
import { resolveModelConfig } from '../../src/models/registry.js';
import { objectiveSettings } from '../../src/train/objectives.js';
import { TRAIN_DEFAULTS, type TrainConfig, train } from '../../src/train/trainer.js';
import { tinyEncoder } from './helpers.js';

let dir: string;
let encoder: SnippetEncoder;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hasten-gmem-train-'));
  encoder = await tinyEncoder(join(dir, 'encoder-run'));
  await saveEncoder(join(dir, 'encoder'), encoder);
  const bank = await buildBank(encoder, openDataset('shapes', { resolution: 8 }), { encoderName: join(dir, 'encoder'), count: 20, mirrored: true });
  await saveBank(join(dir, 'bank'), bank);
});
after(async () => {
  await encoder.dispose();
  await rm(dir, { recursive: true, force: true });
});

function config(cond: TrainConfig['cond'], extra: Record<string, unknown> = {}, model: Record<string, unknown> = {}): TrainConfig {
  return {
    ...TRAIN_DEFAULTS, data: 'shapes', resolution: 8, cond, steps: 2, batch: 4, warmup: 1, labelDropout: 0, seed: 1,
    objective: objectiveSettings('rf', { rfTime: 'logit-normal' }),
    model: resolveModelConfig({ arch: 'dit', resolution: 8, patchSize: 2, width: 16, depth: 2, heads: 2, numClasses: cond === 'class' ? 8 : 0, ...model }),
    bank: { bank: join(dir, 'bank'), ...extra },
  };
}

test('bankSource: every run sees the same images, flips and noise; memory adds the (mirrored) snippets with dropout', async () => {
  const memory = config('memory', { snippetDropout: 0.4 }, { condVectorDim: 6 });
  const parts = await openBankParts(memory);
  const a = await bankSource(memory, parts).feeds(3);
  const b = await bankSource(config('class'), parts).feeds(3);
  const c = await bankSource(config('none'), parts).feeds(3);
  assert.deepEqual(a.x, b.x);
  assert.deepEqual(a.x, c.x);
  assert.deepEqual(a.target, c.target);
  assert.ok(b.label && !c.label && !c.condVector);
  const snippets = a.condVector!.data as Float32Array;
  assert.deepEqual(a.condVector!.shape, [4, 6]);
  const zeros = snippets.filter((v) => v === 0).length;
  assert.ok(zeros > 0 && zeros < snippets.length, `${zeros} of ${snippets.length} dropped`);
  assert.deepEqual((await bankSource(memory, parts).feeds(3)).condVector, a.condVector);
});

test('memory training with REPA and the cosine term: finite losses; a mismatched width is an error', async () => {
  const parts = await openBankParts(config('memory', { repaWeight: 0.5, cosineWeight: 1, encoder: join(dir, 'encoder') }));
  const model = memoryModelSettings(parts.bank, parts.encoder, 'memory');
  assert.deepEqual(model, { condVectorDim: 6, projectorDim: 8 });
  const cfg = config('memory', { repaWeight: 0.5, cosineWeight: 1, encoder: join(dir, 'encoder') }, { ...model, projectorBlock: 1 });
  const tokenSide = new DiT(cfg.model as never).tokenSide;
  const result = await train(cfg, join(dir, 'run'), { source: bankSource(cfg, { ...parts, tokenSide }) });
  assert.equal(result.step, 2);
  assert.ok(Number.isFinite(result.lastLoss));
  await parts.encoder?.dispose();
  assert.throws(() => bankSource(config('memory', {}, { condVectorDim: 5 }), parts), /6 wide but the model \(condVectorDim\) takes 5/);
  await assert.rejects(openBankParts({ cond: 'class', bank: { bank: join(dir, 'bank'), repaWeight: 1 } }), /REPA needs/);
});
