import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { saveCheckpoint } from '../../src/engine/checkpoint.js';
import { initParams } from '../../src/models/init.js';
import { createModel } from '../../src/models/registry.js';
import { ModelNotFound, loadTrainedModel, resolveModel } from '../../src/pipeline/model-store.js';
import { shippedModelsDir } from '../../src/paths.js';
import { objectiveSettings } from '../../src/train/objectives.js';
import { TRAIN_DEFAULTS } from '../../src/train/trainer.js';

const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'hasten-model-store-')));
const startDir = process.cwd();
after(() => {
  process.chdir(startDir);
  rmSync(scratch, { recursive: true, force: true });
});

const model = createModel({ arch: 'mlp', dataDim: 2, width: 8, depth: 1, embeddingWidth: 8, numClasses: 2 });
const goodConfig = { ...TRAIN_DEFAULTS, data: 'toy2d:two-moons', cond: 'class', model: model.config, objective: objectiveSettings('edm'), dataShape: [2], classNames: ['upper', 'lower'] };

async function checkpointWith(name: string, config: Record<string, unknown>): Promise<string> {
  const dir = join(scratch, name);
  await saveCheckpoint(dir, { params: initParams(model, 0), config, step: 1 });
  return dir;
}

test('loadTrainedModel checks the saved settings and names the checkpoint and the setting at fault', async () => {
  assert.equal((await loadTrainedModel(await checkpointWith('good', goodConfig))).config.classNames?.length, 2);
  const broken: [string, Record<string, unknown>, RegExp][] = [
    ['objective', { ...goodConfig, objective: { ...goodConfig.objective, name: 'warp' } }, /unknown objective 'warp' \(known: edm, vp, rf\)/],
    ['network', { ...goodConfig, objective: { ...goodConfig.objective, network: 'warp' } }, /objective\.network 'warp' is not an objective \(known: edm, vp, rf\)/],
    ['sigma', { ...goodConfig, objective: { ...goodConfig.objective, sigmaData: 'half' } }, /objective\.sigmaData must be a positive number, got "half"/],
    ['classes', { ...goodConfig, classNames: ['a', 'b', 'c'] }, /classNames lists 3 names but the model has 2 classes/],
    ['shape', { ...goodConfig, dataShape: [3] }, /dataShape \[3\] does not match the model, which reads \[2\]/],
    ['no-shape', { ...goodConfig, dataShape: undefined }, /dataShape must be a list of positive integers, got undefined/],
    ['model', { ...goodConfig, model: { ...model.config, width: 'wide' } }, /mlp: setting 'width' must be a number/],
  ];
  for (const [name, config, message] of broken) {
    const dir = await checkpointWith(name, config);
    await assert.rejects(loadTrainedModel(dir), (error: Error) => {
      assert.ok(error.message.startsWith(`${dir}: `), error.message);
      assert.match(error.message, message);
      return true;
    }, name);
  }
});

test('model resolution: a path means that path, a bare name a shipped model, and an ambiguous name says which it used', async () => {
  const shipped = join(shippedModelsDir(), 'toy2d');
  const local = join(scratch, 'cwd');
  mkdirSync(join(local, 'sub'), { recursive: true });
  await checkpointWith(join('cwd', 'toy2d'), goodConfig);
  cpSync(join(scratch, 'good'), join(local, 'models', 'toy2d'), { recursive: true });
  mkdirSync(join(local, 'empty'));
  process.chdir(local);
  try {
    assert.deepEqual(resolveModel('./toy2d'), { location: join(local, 'toy2d') });
    assert.deepEqual(resolveModel(join(local, 'toy2d')), { location: join(local, 'toy2d') });
    const bare = resolveModel('toy2d');
    assert.equal(bare.location, shipped);
    assert.match(bare.note!, /'toy2d' is the shipped model toy2d; the folder \.\/toy2d here also holds a model: write \.\/toy2d for it/);
    // `..` is relative to the working directory, never to the install's models/ folder.
    process.chdir(join(local, 'sub'));
    assert.deepEqual(resolveModel('../models/toy2d'), { location: join(local, 'models', 'toy2d') });
    assert.deepEqual(resolveModel('../toy2d'), { location: join(local, 'toy2d') });
    assert.throws(() => resolveModel('../missing'), (error: Error) => error instanceof ModelNotFound && /no model '\.\.\/missing': no such file or folder/.test(error.message));
    assert.throws(() => resolveModel('../empty'), (error: Error) => error instanceof ModelNotFound && /'\.\.\/empty' holds no checkpoint\.json \(nor checkpoint\/checkpoint\.json\)/.test(error.message));
    assert.throws(() => resolveModel('nonesuch'), (error: Error) => error instanceof ModelNotFound && /no model 'nonesuch': not a shipped model \(.*toy2d.*\) nor a folder here/.test(error.message));
    // A bare name that is no shipped model but a local folder is that folder.
    process.chdir(join(local, 'models'));
    cpSync(join(scratch, 'good'), join(local, 'models', 'mine'), { recursive: true });
    assert.deepEqual(resolveModel('mine'), { location: join(local, 'models', 'mine') });
  } finally {
    process.chdir(startDir);
  }
});
