import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FeatureChangeRecorder, featureChange, featureChangeChart, relativeChange, summariseRoles } from '../../src/analysis/feature-change.js';
import { initParams } from '../../src/models/init.js';
import { createModel } from '../../src/models/registry.js';
import type { TrainedModel } from '../../src/pipeline/model-store.js';
import { objectiveSettings } from '../../src/train/objectives.js';

const model = createModel({ arch: 'unet', resolution: 16, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [8], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 3 });
const trained = {
  name: 'tiny', location: '', model, params: initParams(model, 1),
  config: { data: 'shapes', resolution: 16, objective: objectiveSettings('edm'), dataShape: [3, 16, 16], classNames: null },
} as unknown as TrainedModel;

test('feature change: one curve per stem and block over steps 1..N-1, summarised by role', async () => {
  const result = await featureChange(trained, { steps: 5, n: 3 });
  const blocks = model.modules().filter((m) => m.kind === 'block' || m.kind === 'stem').map((m) => m.path);
  assert.deepEqual(result.modules.map((m) => m.path), blocks);
  assert.ok(blocks.includes('enc.0.conv') && blocks.includes('mid.0') && blocks.includes('dec.0.0'));
  for (const m of result.modules) {
    assert.equal(m.change.length, 4, m.path);
    assert.ok(m.change.every((c) => Number.isFinite(c) && c > 0), `${m.path}: ${m.change}`);
  }
  assert.equal(result.noise_levels.length, 5);
  assert.equal(result.noise_levels[0], 80);
  assert.deepEqual(result.roles.map((r) => r.role), ['encoder', 'middle', 'decoder']);
  for (const r of result.roles) {
    const members = result.modules.filter((m) => m.role === r.role);
    assert.equal(r.modules, members.length);
    assert.equal(r.per_step.length, 4);
    assert.ok(Math.abs(r.mean - r.per_step.reduce((a, b) => a + b, 0) / 4) < 1e-12);
    assert.equal(r.max, Math.max(...r.per_step));
  }

  const svg = featureChangeChart(result);
  assert.ok(svg.startsWith('<svg'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.equal((svg.match(/<polyline /g) ?? []).length, result.modules.length);
  assert.match(svg, /enc\.0\.conv \(encoder\)/);
  assert.match(svg, /stroke="hsl\(215, 70%, 25%\)"/, 'the first encoder module in the darkest blue');
  assert.match(svg, /stroke="hsl\(0, 75%, 65%\)"/, 'the last decoder module in the lightest red');
});

test('feature change: a constant forward changes nothing; the change is the Frobenius ratio over the batch', () => {
  const recorder = new FeatureChangeRecorder(['a', 'b']);
  const constant = { a: Float32Array.from([1, -2, 3]), b: Float32Array.from([0.5, 0.5]) };
  for (let step = 0; step < 4; step++) recorder.record(step, (path) => constant[path as 'a' | 'b']);
  assert.deepEqual(recorder.changes.get('a'), [0, 0, 0]);
  assert.deepEqual(recorder.changes.get('b'), [0, 0, 0]);
  assert.throws(() => recorder.record(7, (path) => constant[path as 'a' | 'b']), /expected step 4, got step 7/);

  assert.equal(relativeChange([3, 4], [0, 5]), Math.sqrt(9 + 1) / 5);
  assert.equal(relativeChange([0, 0], [0, 0]), 0);
  assert.equal(relativeChange([1, 0], [0, 0]), Infinity);
  const roles = summariseRoles([
    { path: 'x', kind: 'block', role: 'encoder', change: [0.1, 0.3] },
    { path: 'y', kind: 'block', role: 'encoder', change: [0.3, 0.1] },
    { path: 'z', kind: 'block', role: 'decoder', change: [1, 3] },
  ]);
  assert.deepEqual(roles.map((r) => [r.role, r.modules, r.mean, r.max]), [['encoder', 2, 0.2, 0.2], ['decoder', 1, 2, 3]]);
});
