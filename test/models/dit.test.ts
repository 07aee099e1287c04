import assert from 'node:assert/strict';
import { test } from 'node:test';
import { traceFunction } from '../../src/engine/runtime.js';
import { DiT } from '../../src/models/dit.js';
import { initParams } from '../../src/models/init.js';
import { ModelConfigError } from '../../src/models/config-checks.js';
import { netTraceFn } from '../../src/models/network.js';
import { cacheName } from '../../src/models/module-context.js';
import { createModel } from '../../src/models/registry.js';
import { maxAbs, maxAbsDiff, randomInputs, randomParams, runOnce } from './helpers.js';

const TINY = { arch: 'dit', resolution: 8, patchSize: 2, width: 16, depth: 3, heads: 2, mlpRatio: 2 };
const tinyDiT = (settings: Record<string, unknown> = {}): DiT => createModel({ ...TINY, ...settings }) as DiT;

test('dit: output shapes with class, caption and vector conditioning, and learned positions', async () => {
  const configs: Record<string, unknown>[] = [{}, { numClasses: 4 }, { captionTokens: 3, textWidth: 16, positionEmbedding: 'learned' }, { condVectorDim: 6, inChannels: 1, outChannels: 2, patchSize: 4 }];
  for (const settings of configs) {
    const model = tinyDiT(settings);
    const out = (await runOnce(netTraceFn(model), randomParams(model, 1), randomInputs(model, 2, 2))).out!;
    assert.deepEqual(out.shape, [2, model.config.outChannels, 8, 8], JSON.stringify(settings));
    assert.ok(maxAbs(out) > 0 && out.data.every((v) => Number.isFinite(v)), JSON.stringify(settings));
  }
});

test('dit: adaLN-Zero makes a fresh model output zero', async () => {
  const model = tinyDiT({ numClasses: 4 });
  const out = (await runOnce(netTraceFn(model), initParams(model, 3), randomInputs(model, 2, 4))).out!;
  assert.equal(maxAbs(out), 0);
});

test('dit: blocks and their units are addressable modules', () => {
  const model = tinyDiT({ captionTokens: 3, textWidth: 16 });
  const modules = model.modules();
  const blocks = modules.filter((m) => m.kind === 'block').map((m) => m.path);
  assert.deepEqual(blocks, ['blocks.0', 'blocks.1', 'blocks.2']);
  assert.deepEqual(modules.filter((m) => m.path.startsWith('blocks.1.')).map((m) => `${m.path}:${m.kind}`), ['blocks.1.self:unit', 'blocks.1.cross:unit', 'blocks.1.mlp:unit']);
  assert.equal(modules.find((m) => m.path === 'final')?.role, 'output');
});

test('dit: the first k blocks act as the encoder; reusing their output reproduces the forward pass', async () => {
  const model = tinyDiT({ numClasses: 4 });
  const params = randomParams(model, 5);
  const inputs = randomInputs(model, 2, 6);
  for (const encoderBlocks of [1, 2, 3]) {
    const outputs = model.encoderOutputs(2, { encoderBlocks });
    assert.deepEqual([...outputs], [[`blocks.${encoderBlocks - 1}`, [2, 16, 16]]]);
    const captured = await runOnce(netTraceFn(model, { capture: new Set(outputs.keys()) }, { encoderBlocks }), params, inputs);
    const cache = Object.fromEntries([...outputs.keys()].map((path) => [cacheName(path), captured[cacheName(path)]!]));
    const decoded = (await runOnce(netTraceFn(model, { reuse: outputs }, { encoderBlocks }), params, { ...inputs, ...cache })).out!;
    assert.equal(maxAbsDiff(decoded, captured.out!), 0, `encoderBlocks ${encoderBlocks}`);
  }
  assert.equal(model.defaultEncoderBlocks(), 2);
  assert.throws(() => model.encoderOutputs(1, { encoderBlocks: 4 }), /encoderBlocks must be an integer in \[1, 3\]/);
});

test('dit: bad configs and U-Net-only options are named', () => {
  assert.throws(() => tinyDiT({ resolution: 10, patchSize: 4 }), (e: Error) => e instanceof ModelConfigError && /'resolution' \(10\) must be divisible by 'patchSize' \(4\)/.test(e.message));
  assert.throws(() => tinyDiT({ width: 18, heads: 4 }), /'width' \(18\) must be divisible by 'heads' \(4\)/);
  assert.throws(() => tinyDiT({ positionEmbedding: 'rope' }), /'positionEmbedding' must be one of sincos, learned/);
  const model = tinyDiT();
  assert.throws(() => traceFunction(netTraceFn(model), { ...model.inputSpecs(1), skipScale: { shape: [3], dtype: 'float32' } }), /dit: no forward option 'skipScale' \(dit takes encoderBlocks\)/);
});
