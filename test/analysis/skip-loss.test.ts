import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parseSkipTuning } from '../../src/accel/skip-tuning.js';
import { logSpaced, skipLoss, skipLossChart } from '../../src/analysis/skip-loss.js';
import { FeatureNet, type FeatureNetConfig, initFeatureNetParams } from '../../src/eval/feature-net.js';
import { createModel } from '../../src/models/registry.js';
import type { TrainedModel } from '../../src/pipeline/model-store.js';
import { objectiveSettings } from '../../src/train/objectives.js';
import { randomParams } from '../models/helpers.js';

// Random rather than initial parameters: a fresh U-Net's zero output layer would hide the skips.
const model = createModel({ arch: 'unet', resolution: 16, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [8], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 8 });
const trained = {
  name: 'tiny', location: '', model, params: randomParams(model, 1),
  config: { data: 'shapes', resolution: 16, objective: objectiveSettings('edm'), dataShape: [3, 16, 16], classNames: null },
} as unknown as TrainedModel;
const netConfig: FeatureNetConfig = { arch: 'feature-net', data: 'shapes', imageShape: [3, 16, 16], numClasses: 8, classNames: null, stageWidths: [4, 8], groups: 2, featureDim: 6 };
const featureNet = new FeatureNet(netConfig, initFeatureNetParams(netConfig, 2));
after(() => featureNet.dispose());

const sigmas = [0.05, 1, 20];
const measure = (spec: string) => skipLoss(trained, { featureNet, sigmas, n: 6, batch: 4, skipTuning: parseSkipTuning(spec) });

test('skip loss: factor 1 reproduces the plain losses exactly; factor 0.5 moves them', async () => {
  const identity = await measure('1');
  assert.deepEqual(identity.losses.map((l) => l.sigma), sigmas);
  for (const l of identity.losses) {
    assert.ok(l.pixel_plain > 0 && l.feature_plain > 0, JSON.stringify(l));
    assert.equal(l.pixel_tuned, l.pixel_plain);
    assert.equal(l.feature_tuned, l.feature_plain);
    assert.equal(l.pixel_ratio, 1);
    assert.equal(l.feature_ratio, 1);
  }
  const tuned = await measure('0.5');
  tuned.losses.forEach((l, i) => {
    assert.equal(l.pixel_plain, identity.losses[i]!.pixel_plain, 'the plain network sees the same images and noise');
    assert.notEqual(l.pixel_ratio, 1);
    assert.notEqual(l.feature_ratio, 1);
  });
  assert.equal(tuned.skip_tuning, 'factor=0.5');

  const svg = skipLossChart(tuned);
  assert.ok(svg.startsWith('<svg'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.equal((svg.match(/<svg /g) ?? []).length, 3, 'one document holding two panels');
  assert.equal((svg.match(/<polyline /g) ?? []).length, 4, 'a ratio and the line at 1 per panel');
  assert.match(svg, /pixel loss ratio/);
  assert.match(svg, /feature loss ratio/);
});

test('skip loss: the sigma window limits Skip-Tuning to its noise levels; bad settings are refused', async () => {
  const windowed = await measure('factor=0.5,sigma=0.5:2');
  assert.deepEqual(windowed.losses.map((l) => l.pixel_ratio === 1), [true, false, true]);
  await assert.rejects(skipLoss(trained, { featureNet, sigmas: [1, 1] }), /each sigma once/);
  const mlp = { ...trained, model: createModel({ arch: 'mlp', dataDim: 2 }) } as unknown as TrainedModel;
  await assert.rejects(skipLoss(mlp, { featureNet }), /needs a U-Net/);
  assert.deepEqual(logSpaced(0.02, 80, 12).map((s) => Number(s.toPrecision(6))).filter((_, i) => i % 11 === 0), [0.02, 80]);
});
