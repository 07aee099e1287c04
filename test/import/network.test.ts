import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAccelFlags } from '../../src/accel/config.js';
import { samplerNames } from '../../src/diffusion/samplers/index.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import { ImportedNetwork } from '../../src/import/network.js';
import { importedTarget } from '../../src/import/target.js';
import { generate } from '../../src/pipeline/generate.js';
import { noiseLabel } from '../../src/train/objectives.js';
import { importedFixture, references, relativeError } from './fixtures.js';

test('imported network: hasten noise labels reach the graph as its own timesteps', async () => {
  for (const name of ['ddpm-unet2d', 'sd-unet2dcondition'] as const) {
    const imported = await importedFixture(name);
    const refs = references(name);
    const network = new ImportedNetwork(imported);
    try {
      const timesteps = [500, 250]; // case1's
      const labels = Float32Array.from(timesteps, (k) => noiseLabel(imported.process.rho((k + 1) / imported.record.schedule.numTrainTimesteps)));
      const feeds: Record<string, HostTensor> = { x: refs.get('case1.sample')!, noise: { dtype: 'float32', shape: [2], data: labels } };
      const cond = refs.get('case1.encoder_hidden_states');
      if (cond) feeds.encoder_hidden_states = cond;
      const out = (await network.call(feeds)).out!;
      const error = relativeError(out.data as Float32Array, refs.get('case1.out_sample')!.data as Float32Array);
      assert.ok(error <= 1e-4, `${name}: relative error ${error}`);
      assert.equal(network.flops, 2 * imported.record.analysis!.flops.total);
    } finally {
      await network.dispose();
    }
  }
});

test('imported network: every sampler samples the unconditional model', async () => {
  const imported = await importedFixture('ddpm-unet2d');
  const target = importedTarget(imported, 2);
  const network = target.network({});
  try {
    for (const sampler of samplerNames) {
      const result = await generate(target, { sampler, steps: 3, n: 2, seed: 1, network });
      assert.deepEqual(result.images.shape, [2, 3, 16, 16]);
      assert.ok(result.images.data.every(Number.isFinite), sampler);
      assert.ok(result.nfe >= 3 && result.flops > 0, sampler);
    }
  } finally {
    await network.dispose();
  }
});

test('imported network: the text-conditioned model samples with one conditioning row for all, and with guidance', async () => {
  const imported = await importedFixture('sd-unet2dcondition');
  const refs = references('sd-unet2dcondition');
  const all = refs.get('case0.encoder_hidden_states')!;
  const row = (r: number): HostTensor => ({ ...all, shape: [1, 8, 32], data: (all.data as Float32Array).slice(r * 256, (r + 1) * 256) });
  const plain = await generate(importedTarget(imported, 3, { cond: row(0) }), { sampler: 'dpmpp-2m', steps: 4, n: 3, seed: 2 });
  const other = await generate(importedTarget(imported, 3, { cond: row(1) }), { sampler: 'dpmpp-2m', steps: 4, n: 3, seed: 2 });
  assert.notDeepEqual(plain.images.data, other.images.data);
  const guided = await generate(importedTarget(imported, 3, { cond: row(0), uncond: row(1) }), { sampler: 'dpmpp-2m', steps: 4, n: 3, seed: 2, guidance: 3 });
  assert.equal(guided.nfe, 2 * plain.nfe);
  assert.notDeepEqual(guided.images.data, plain.images.data);
  // Guidance 1 is the conditional model.
  const unitGuidance = await generate(importedTarget(imported, 3, { cond: row(0), uncond: row(1) }), { sampler: 'dpmpp-2m', steps: 4, n: 3, seed: 2, guidance: 1 });
  assert.deepEqual(unitGuidance.images.data, plain.images.data);
  assert.throws(() => importedTarget(imported, 3), /--cond-file/);
  assert.throws(() => importedTarget(imported, 3, { cond: { ...all, shape: [2, 8, 32] } }), /1 \(for every sample\) or one per sample \(3\)/);
});

test('imported network: the accelerations plug into the caching mechanism as on native models', async () => {
  const imported = await importedFixture('ddpm-unet2d');
  const target = importedTarget(imported, 2);
  const sample = (flags: Parameters<typeof parseAccelFlags>[0], steps = 6) => generate(target, { sampler: 'ddim', steps, n: 2, seed: 3, accel: parseAccelFlags(flags) });
  const plain = await sample({});
  // All-key caching and rho = 1 are the plain model, bit for bit.
  for (const flags of [{ deepcache: 'every=1,branch=0' }, { 'encoder-propagation': 'every=1,noise=0' }, { 'skip-tuning': '1' }]) {
    assert.deepEqual((await sample(flags)).images.data, plain.images.data, JSON.stringify(flags));
  }
  const { flops, cut_flops: cut } = imported.record.analysis!;
  const deepcache = await sample({ deepcache: 'every=3,branch=0' });
  assert.equal(deepcache.flops, 2 * (2 * flops.total + 4 * cut.deepcache[0]!));
  assert.notDeepEqual(deepcache.images.data, plain.images.data);
  const propagation = await sample({ 'encoder-propagation': 'every=3,noise=0' });
  assert.equal(propagation.flops, 2 * (2 * flops.total + 4 * cut.encoder_propagation));
  const tuned = await sample({ 'skip-tuning': '0.7', deepcache: 'every=2,branch=1' });
  assert.ok(tuned.images.data.every(Number.isFinite));
  assert.throws(() => new ImportedNetwork(imported, parseAccelFlags({ 'feature-inheritance': 'modules=mid,every=2' })), /--deepcache or --encoder-propagation/);
  assert.throws(() => new ImportedNetwork(imported, parseAccelFlags({ deepcache: 'every=2,branch=4' })), /branch must be a skip index in 0\.\.3/);
});
