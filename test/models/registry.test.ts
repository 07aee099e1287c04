import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelConfigError } from '../../src/models/config-checks.js';
import { ARCHITECTURES, MODEL_DEFAULTS, createModel, resolveModelConfig } from '../../src/models/registry.js';

test('registry: every architecture builds from its bare name, and its config round-trips through JSON', () => {
  for (const arch of ARCHITECTURES) {
    const settings = arch === 'mlp' ? { arch, numClasses: 8 } : { arch, resolution: 16, captionTokens: 6, condVectorDim: 4 };
    const model = createModel(settings);
    const json = JSON.stringify(model.config);
    assert.deepEqual(JSON.parse(json), model.config, arch);
    const again = createModel(JSON.parse(json));
    assert.deepEqual(again.config, model.config, arch);
    assert.deepEqual([...again.paramShapes()], [...model.paramShapes()], arch);
    assert.deepEqual(Object.keys(model.config).sort(), Object.keys(MODEL_DEFAULTS[arch]).sort(), `${arch}: the resolved config lists every setting`);
  }
});

test('registry: resolving does not share state with the defaults', () => {
  const config = resolveModelConfig({ arch: 'unet' });
  assert.ok(config.arch === 'unet');
  config.channelMultipliers.push(4);
  assert.deepEqual(MODEL_DEFAULTS.unet.channelMultipliers, [1, 2, 2]);
});

test('registry: bad configs are rejected with the setting named', () => {
  const rejects = (settings: unknown, pattern: RegExp): void => assert.throws(() => createModel(settings), (e: Error) => e instanceof ModelConfigError && pattern.test(e.message), JSON.stringify(settings));
  rejects({ arch: 'vit' }, /setting 'arch' must be one of unet, dit, mlp/);
  rejects({}, /setting 'arch'/);
  rejects([1], /must be a JSON object/);
  rejects({ arch: 'mlp', widht: 3 }, /mlp: unknown setting 'widht'/);
  rejects({ arch: 'unet', channelMultipliers: [1, 'x'] }, /'channelMultipliers' must be a list of numbers/);
  rejects({ arch: 'unet', middleAttention: 'yes' }, /'middleAttention' must be a boolean/);
  rejects({ arch: 'dit', depth: 2.5 }, /'depth' must be an integer >= 1/);
});
