import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasLongSkips, hasMovableSplit, isEncoderDecoder } from '../../src/models/capabilities.js';
import type { DiffusionNet } from '../../src/models/network.js';
import { createModel } from '../../src/models/registry.js';

const unet = createModel({ arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16 });
const dit = createModel({ arch: 'dit', resolution: 8, patchSize: 2, width: 16, depth: 3, heads: 2 });
const mlp = createModel({ arch: 'mlp', dataDim: 2, width: 8, depth: 1 });

test('capabilities: what each shipped architecture offers the policies', () => {
  assert.deepEqual([unet, dit, mlp].map(hasLongSkips), [true, false, false]);
  assert.deepEqual([unet, dit, mlp].map(isEncoderDecoder), [true, true, false]);
  assert.deepEqual([unet, dit, mlp].map(hasMovableSplit), [false, true, false]);
  if (hasLongSkips(unet)) assert.equal(unet.skips().length, unet.numSkips);
  if (hasMovableSplit(dit)) assert.equal(dit.maxEncoderBlocks, 3);
});

test('capabilities: any network that implements one is recognised, whatever its class', () => {
  const imported = { ...mlp, config: mlp.config, modules: () => mlp.modules(), numSkips: 2, skips: () => [] } as unknown as DiffusionNet;
  assert.ok(hasLongSkips(imported));
  assert.ok(!isEncoderDecoder(imported));
});
