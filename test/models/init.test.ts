import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckpointError } from '../../src/engine/checkpoint-error.js';
import * as F from '../../src/engine/ops/index.js';
import { RngStream } from '../../src/engine/rng.js';
import type { TraceFn } from '../../src/engine/runtime.js';
import { checkParams, declaredParams, initDeclared, initParams } from '../../src/models/init.js';
import { linear } from '../../src/models/layers.js';
import { ModuleContext } from '../../src/models/module-context.js';
import { createModel } from '../../src/models/registry.js';

const settings = { arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 3 };

test('init: deterministic per seed, per parameter, and as the layers declare', () => {
  const model = createModel(settings);
  const a = initParams(model, 1);
  const b = initParams(createModel(settings), 1);
  const c = initParams(model, 2);
  assert.deepEqual([...a.keys()], [...model.paramShapes().keys()]);
  for (const [name, t] of a) {
    assert.deepEqual(t.shape, model.paramShapes().get(name));
    assert.deepEqual(t.data, b.get(name)!.data, name);
  }
  const weight = 'enc.0.0.res.conv0.weight';
  assert.notDeepEqual(a.get(weight)!.data, c.get(weight)!.data);
  const fanIn = 8 * 3 * 3;
  assert.ok(a.get(weight)!.data.every((v) => Math.abs(v) <= Math.sqrt(3 / fanIn)));
  assert.ok(a.get(weight)!.data.some((v) => Math.abs(v) > 0.5 * Math.sqrt(3 / fanIn)));
  for (const zero of ['enc.0.0.res.conv1.weight', 'out.conv.weight', 'dec.1.0.attn.self.out.weight', 'dec.1.0.attn.mlp.fc2.weight', 'enc.0.0.res.conv0.bias']) {
    assert.ok(a.get(zero)!.data.every((v) => v === 0), `${zero} starts at zero`);
  }
  assert.ok(a.get('enc.0.0.res.norm0.weight')!.data.every((v) => v === 1));
  // A parameter's value depends only on the seed and its name, not on the rest of the model.
  const wider = initParams(createModel({ ...settings, numClasses: 5 }), 1);
  assert.deepEqual(wider.get(weight)!.data, a.get(weight)!.data);
});

test('init: checkParams names the file and every missing, extra and mis-shaped parameter', () => {
  const model = createModel(settings);
  const params = initParams(model, 1);
  checkParams(model, params, 'run/checkpoint.safetensors');
  const other = createModel({ ...settings, numClasses: 5 });
  assert.throws(() => checkParams(other, params, 'run/checkpoint.safetensors'), (error) => error instanceof CheckpointError && error.path === 'run/checkpoint.safetensors' && /shape mismatch for 'emb.label': expected \[6, 16\], found \[4, 16\]/.test(error.message));
  params.delete('out.conv.bias');
  params.set('extra', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
  assert.throws(() => checkParams(model, params, 'x'), /missing tensor 'out.conv.bias'; unexpected tensor 'extra'/);
});

test('init: any traced function initialises as its layers declare; a parameter without an initialiser is named', () => {
  const fn: TraceFn = (g, { x }) => ({ y: linear(new ModuleContext(g), 'head', x!, 3) });
  const declared = declaredParams(fn, { x: { shape: [1, 4], dtype: 'float32' } });
  assert.deepEqual([...declared.keys()], ['head.weight', 'head.bias']);
  assert.deepEqual(declared.get('head.weight'), { shape: [3, 4], init: { kind: 'uniform', bound: Math.sqrt(3 / 4) } });
  const params = initDeclared(declared, RngStream.fromSeed(1, 'test'));
  assert.ok(params.get('head.weight')!.data.every((v) => Math.abs(v) <= Math.sqrt(3 / 4)) && params.get('head.weight')!.data.some((v) => v !== 0));
  assert.ok(params.get('head.bias')!.data.every((v) => v === 0));
  assert.throws(() => declaredParams((g, { x }) => ({ y: F.mul(x!, g.param('bare', [4])) }), { x: { shape: [1, 4], dtype: 'float32' } }), /parameter 'bare' was declared without an initialiser/);
});
