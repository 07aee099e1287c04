import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activationBytesPerSample } from '../../src/models/activation-bytes.js';
import { createModel } from '../../src/models/registry.js';

test('activationBytesPerSample: the bytes of every intermediate value of one sample, growing with the model', () => {
  const small = activationBytesPerSample(createModel({ arch: 'mlp', dataDim: 2, width: 16, depth: 1, embeddingWidth: 8 }));
  const wide = activationBytesPerSample(createModel({ arch: 'mlp', dataDim: 2, width: 64, depth: 1, embeddingWidth: 8 }));
  const deep = activationBytesPerSample(createModel({ arch: 'mlp', dataDim: 2, width: 16, depth: 3, embeddingWidth: 8 }));
  // At least the hidden layers' float32 outputs, and more for more of them.
  assert.ok(small >= 4 * 16 && wide > 3 * small && deep > small, `${small} ${wide} ${deep}`);
  const unet = activationBytesPerSample(createModel({ arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16 }));
  assert.ok(unet > 4 * 8 * 8 * 8, `${unet}`);
});
