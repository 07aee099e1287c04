import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeAccel, parseAccelFlags } from '../../src/accel/config.js';
import { resolveCaching, parseCaching } from '../../src/accel/caching.js';
import { createModel } from '../../src/models/registry.js';

const unet = createModel({ arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16 });
const dit = createModel({ arch: 'dit', resolution: 8, patchSize: 2, width: 16, depth: 3, heads: 2 });

test('accel flags: Skip-Tuning combines with one caching method, two caching methods are refused', () => {
  const config = parseAccelFlags({ 'skip-tuning': '0.8', 'encoder-propagation': 'every=3,noise=0.003' });
  assert.equal(describeAccel(config), 'skip-tuning factor=0.8 + encoder-propagation keys=every:3,noise=0.003');
  assert.equal(describeAccel(parseAccelFlags({})), 'plain');
  assert.throws(() => parseAccelFlags({ 'encoder-propagation': 'every=3', deepcache: 'every=3' }), /--encoder-propagation and --deepcache cannot be combined/);
  assert.throws(() => parseAccelFlags({ 'encoder-propagation': 'every=3,keys=dense-early' }), /either every or keys/);
  assert.throws(() => parseAccelFlags({ 'encoder-propagation': 'noise=0.01' }), /give the key steps/);
  assert.throws(() => parseAccelFlags({ 'encoder-propagation': 'every=3,parallel=maybe' }), /parallel must be on or off/);
  assert.throws(() => parseAccelFlags({ 'feature-inheritance': 'every=2' }), /give the modules to inherit/);
  assert.throws(() => parseAccelFlags({ deepcache: 'every=3,depth=2' }), /unknown setting 'depth'/);
});

test('caching: encoder propagation reuses every skip source and the middle; the DiT splits after K blocks', () => {
  assert.deepEqual(resolveCaching(parseCaching('encoder-propagation', 'every=2'), unet).modules, ['enc.0.conv', 'enc.0.0', 'enc.1.down', 'enc.1.0', 'mid']);
  const ditPlan = resolveCaching(parseCaching('encoder-propagation', 'every=2,blocks=2'), dit);
  assert.deepEqual(ditPlan, { modules: ['blocks.1'], forwardOptions: { encoderBlocks: 2 } });
  assert.throws(() => resolveCaching(parseCaching('encoder-propagation', 'every=2,blocks=2'), unet), /blocks=K applies to the DiT only/);
});

test('caching: DeepCache reuses the decoder output that feeds the chosen skip branch', () => {
  const reused = (branch: number): string[] => resolveCaching(parseCaching('deepcache', `every=3,branch=${branch}`), unet).modules;
  assert.deepEqual(reused(0), ['dec.0.0']);
  assert.deepEqual(reused(1), ['dec.0.up']);
  assert.deepEqual(reused(3), ['mid']);
  assert.throws(() => reused(4), /branch must be a skip index in 0..3/);
  assert.throws(() => resolveCaching(parseCaching('deepcache', 'every=3'), dit), /needs a U-Net/);
});

test('caching: feature inheritance matches path patterns, keeps the outermost of nested modules, and names bad ones', () => {
  const modules = (spec: string): string[] => resolveCaching(parseCaching('feature-inheritance', `${spec},every=2`), unet).modules;
  assert.deepEqual(modules('modules=*.attn.mlp'), ['enc.1.0.attn.mlp', 'mid.0.attn.mlp', 'dec.1.0.attn.mlp', 'dec.1.1.attn.mlp']);
  assert.deepEqual(modules('modules=mid/mid.0.attn'), ['mid']);
  assert.deepEqual(modules('modules=dec.1.*'), ['dec.1.0', 'dec.1.1']);
  assert.throws(() => modules('modules=dec.9.*'), /no module matches 'dec.9.\*'/);
  assert.throws(() => modules('modules=out'), /'out' is a head; only blocks, layers, units and stages/);
});
