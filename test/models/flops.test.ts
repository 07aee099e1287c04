import assert from 'node:assert/strict';
import { test } from 'node:test';
import { moduleFlops } from '../../src/models/flops.js';
import { createModel } from '../../src/models/registry.js';
import type { UNet } from '../../src/models/unet.js';

const unet = createModel({
  arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1,
  attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 3, captionTokens: 4, textWidth: 16,
}) as UNet;

test('flops: modules partition the total, and each module sums its sub-modules', () => {
  for (const model of [unet, createModel({ arch: 'dit', resolution: 8, width: 16, depth: 2, heads: 2 }), createModel({ arch: 'mlp', width: 16, embeddingWidth: 8 })]) {
    const { total, inclusive, exclusive } = moduleFlops(model);
    assert.ok(total > 0);
    assert.equal([...exclusive.values()].reduce((a, b) => a + b, 0), total);
    const topLevel = [...inclusive].filter(([path]) => path !== '' && !path.includes('.'));
    assert.equal(topLevel.reduce((n, [, f]) => n + f, exclusive.get('') ?? 0), total);
    for (const { path } of model.modules()) {
      const inside = [...exclusive].filter(([scope]) => scope === path || scope.startsWith(`${path}.`)).reduce((n, [, f]) => n + f, 0);
      assert.equal(inclusive.get(path), inside, path);
    }
  }
});

test('flops: counts match the layer formulas and scale with the batch', () => {
  const perSample = moduleFlops(unet);
  assert.equal(perSample.inclusive.get('enc.0.conv'), 2 * 8 * 8 * 8 * (3 * 3 * 3)); // 3x3 conv, 3 -> 8 channels at 8x8
  assert.equal(moduleFlops(unet, { batch: 4 }).total, 4 * perSample.total, 'every op is per sample');
  const attention = perSample.inclusive.get('dec.1.0.attn.self')!;
  assert.ok(attention > 2 * 2 * 16 * 16 * 16, 'self-attention at 4x4 (16 tokens, 16 channels) costs at least its two products');
});

test('flops: a decoder-only step costs less, by exactly the encoder and middle', () => {
  const full = moduleFlops(unet);
  const decoderOnly = moduleFlops(unet, { plan: { reuse: unet.encoderOutputs(1) } });
  assert.equal(decoderOnly.inclusive.get('enc'), undefined);
  assert.equal(decoderOnly.total, full.total - full.inclusive.get('enc')! - full.inclusive.get('mid')!);
  const tuned = moduleFlops(unet, { skipScale: true });
  assert.ok(tuned.total > full.total);
});
