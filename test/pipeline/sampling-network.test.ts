import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAccelFlags } from '../../src/accel/config.js';
import { CompiledNetwork } from '../../src/pipeline/sampling-network.js';
import { parseSkipTuning } from '../../src/accel/skip-tuning.js';
import { makeGrid, parseGridSpec } from '../../src/diffusion/grids.js';
import { getSampler } from '../../src/diffusion/samplers/index.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import { RngStream } from '../../src/engine/rng.js';
import { compile } from '../../src/engine/runtime.js';
import { netTraceFn } from '../../src/models/network.js';
import { cacheName } from '../../src/models/module-context.js';
import { createModel } from '../../src/models/registry.js';
import type { UNet } from '../../src/models/unet.js';
import { generate, guidedRunner } from '../../src/pipeline/generate.js';
import type { TrainedModel } from '../../src/pipeline/model-store.js';
import { networkDenoiser, objectiveProcess, objectiveSettings } from '../../src/train/objectives.js';
import { randomInputs, randomParams } from '../models/helpers.js';

const model = createModel({ arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 3 }) as UNet;
const params = randomParams(model, 1);
const trained = {
  name: 'tiny', location: '', model, params,
  config: { objective: objectiveSettings('edm'), dataShape: [3, 8, 8], classNames: null },
} as unknown as TrainedModel;

const sampleWith = async (flags: Parameters<typeof parseAccelFlags>[0], sampler = 'ddim', steps = 6, guidance = 1) =>
  generate(trained, { sampler, steps, n: 3, seed: 5, guidance, accel: parseAccelFlags(flags) });

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

test('accel network: no policy, Skip-Tuning factor 1 and all-key caching reproduce the plain model bit for bit', async () => {
  // The plain model, wired by hand: the compiled forward straight into the sampler.
  const forward = compile(netTraceFn(model), { params });
  const process = objectiveProcess(trained.config.objective);
  const grid = makeGrid(process, parseGridSpec('karras'), 6);
  const plain = (await sampleWith({})).images;
  const reference = await (async () => {
    const noise = RngStream.fromSeed(5, 'sample-noise').normal({ start: 0, count: 3 }, [3, 8, 8], new Float64Array(3 * 192));
    const plainForward = async (feeds: Record<string, HostTensor>) => (await forward.run(feeds)).out!.data as Float32Array;
    const { denoiser } = networkDenoiser(trained.config.objective, guidedRunner(trained, plainForward, [0n, 1n, 2n], 1), 3);
    return Float32Array.from((await getSampler('ddim').sample(denoiser, process, noise, grid)).x);
  })();
  await forward.dispose();
  assert.deepEqual(plain.data, reference);
  assert.deepEqual((await sampleWith({ 'skip-tuning': '1' })).images.data, reference);
  assert.deepEqual((await sampleWith({ 'encoder-propagation': 'every=1,noise=0' })).images.data, reference);
  assert.deepEqual((await sampleWith({ deepcache: 'every=1' })).images.data, reference);
  assert.ok(maxDiff((await sampleWith({ 'skip-tuning': '0.5' })).images.data, reference) > 1e-3, 'factor 0.5 changes the samples');
});

test('accel network: caching methods cost fewer FLOPs; batched decoding matches one decoder call per step', async () => {
  const plain = await sampleWith({});
  const sequential = await sampleWith({ 'encoder-propagation': 'every=3,noise=0,parallel=off' });
  const batched = await sampleWith({ 'encoder-propagation': 'every=3,noise=0' });
  assert.ok(sequential.flops < plain.flops);
  assert.ok(Math.abs(batched.flops - sequential.flops) / sequential.flops < 0.01, `${batched.flops} vs ${sequential.flops}`);
  assert.ok(maxDiff(batched.images.data, sequential.images.data) < 1e-5);
  assert.ok(maxDiff(sequential.images.data, plain.images.data) > 0, 'non-key steps reuse stale encoder features');
  for (const flags of [{ deepcache: 'every=2,branch=1' }, { 'feature-inheritance': 'modules=mid/dec.1.*,every=2' }]) {
    const result = await sampleWith(flags);
    assert.ok(result.flops < plain.flops, JSON.stringify(flags));
    assert.equal(result.nfe, plain.nfe);
  }
});

test('accel network: Heun-type samplers cache by step, so both stages of a non-key step reuse', async () => {
  const plain = await sampleWith({}, 'heun', 4);
  const cached = await sampleWith({ 'encoder-propagation': 'every=2,noise=0' }, 'heun', 4);
  assert.equal(cached.nfe, plain.nfe);
  assert.ok(cached.flops < plain.flops);
  assert.ok(cached.images.data.every(Number.isFinite));
});

test('accel network: at a non-key step the decoder reads each row\'s own cache (guidance halves stay apart)', async () => {
  const network = new CompiledNetwork(model, params, parseAccelFlags({ 'encoder-propagation': 'every=2,noise=0,parallel=off' }));
  const process = objectiveProcess(trained.config.objective);
  const grid = makeGrid(process, parseGridSpec('karras'), 4);
  const inputs = randomInputs(model, 4, 3); // rows 0-1 and 2-3 play the conditional and unconditional halves
  const run = network.run({ sampler: getSampler('ddim'), process, grid, noise: new Float64Array(4 * 192) });
  await run.forward(inputs, { step: 0, stage: 0 });
  const later: Record<string, HostTensor> = { ...randomInputs(model, 4, 4), label: inputs.label! };
  const reused = await run.forward(later, { step: 1, stage: 0 });
  // Reference: each half decoded alone on its own encoder features from the key step.
  const encoderPaths = [...model.encoderOutputs(2).keys()];
  const capture = compile(netTraceFn(model, { capture: new Set(encoderPaths) }), { params });
  const decodeOnly = compile(netTraceFn(model, { reuse: model.encoderOutputs(2) }), { params });
  for (const half of [0, 1]) {
    const slice = (t: HostTensor, rows: number[]): HostTensor => {
      const size = t.data.length / t.shape[0]!;
      return { ...t, shape: [2, ...t.shape.slice(1)], data: t.data.slice(rows[0]! * size, (rows[1]! + 1) * size) } as HostTensor;
    };
    const rows = [2 * half, 2 * half + 1];
    const key = await capture.run({ x: slice(inputs.x!, rows), noise: slice(inputs.noise!, rows), label: slice(inputs.label!, rows) });
    const cache = Object.fromEntries(encoderPaths.map((p) => [cacheName(p), key[cacheName(p)]!]));
    const expected = (await decodeOnly.run({ x: slice(later.x!, rows), noise: slice(later.noise!, rows), label: slice(later.label!, rows), ...cache })).out!.data as Float32Array;
    assert.ok(maxDiff(reused.subarray(half * 384, (half + 1) * 384), expected) < 1e-5, `half ${half}`);
  }
  await Promise.all([capture.dispose(), decodeOnly.dispose(), network.dispose()]);
});

test('accel network: a Skip-Tuning sweep changes only graph inputs and never recompiles', async () => {
  const network = new CompiledNetwork(model, params, { skipTuning: parseSkipTuning('1') });
  const results: Float32Array[] = [];
  for (const factors of ['1', '0.7', 'inner=0.4,outer=1,time=decreasing']) {
    network.skipTuning = parseSkipTuning(factors);
    results.push((await generate(trained, { sampler: 'ddim', steps: 3, n: 2, seed: 1, network })).images.data);
  }
  assert.equal(network.compiledGraphs, 1);
  assert.ok(maxDiff(results[0]!, results[1]!) > 1e-4 && maxDiff(results[1]!, results[2]!) > 1e-4);
  await network.dispose();
});

test('accel network: prior noise injection adds alpha·|(alpha_t, sigma_t)|·z from the chosen fraction of the steps', () => {
  const network = new CompiledNetwork(model, params, parseAccelFlags({ 'encoder-propagation': 'every=2,noise=0.01,noise-from=0.5' }));
  const process = objectiveProcess(trained.config.objective);
  const noise = Float64Array.from({ length: 192 }, (_, i) => (i % 7) - 3);
  const run = network.run({ sampler: getSampler('ddim'), process, grid: makeGrid(process, parseGridSpec('karras'), 10), noise });
  const x = new Float64Array(192);
  run.samplerOptions.beforeStep!(4, 1.5, x);
  assert.ok(x.every((v) => v === 0), 'no injection before half-way');
  run.samplerOptions.beforeStep!(5, 1.5, x);
  const amount = 0.01 * Math.hypot(1, 1.5);
  assert.ok(maxDiff(x, noise.map((z) => amount * z)) < 1e-12);
  assert.deepEqual(new CompiledNetwork(model, params, parseAccelFlags({ 'encoder-propagation': 'every=2,noise=0' })).run({ sampler: getSampler('ddim'), process, grid: makeGrid(process, parseGridSpec('karras'), 10), noise }).samplerOptions, {});
});

test('accel network: settings that do not fit the model are one clear error', () => {
  const mlp = createModel({ arch: 'mlp', dataDim: 2 });
  assert.throws(() => new CompiledNetwork(mlp, new Map(), parseAccelFlags({ 'skip-tuning': '0.8' })), /--skip-tuning needs a U-Net/);
  assert.throws(() => new CompiledNetwork(mlp, new Map(), parseAccelFlags({ 'encoder-propagation': 'every=2' })), /needs a U-Net or a DiT/);
});

test('accel network: on the DiT the first K blocks act as the encoder', async () => {
  const dit = createModel({ arch: 'dit', resolution: 8, patchSize: 2, width: 16, depth: 3, heads: 2 });
  const ditModel = { ...trained, model: dit, params: randomParams(dit, 2) } as TrainedModel;
  const run = (flags: Parameters<typeof parseAccelFlags>[0]) => generate(ditModel, { sampler: 'dpmpp-2m', steps: 6, n: 2, seed: 1, accel: parseAccelFlags(flags) });
  const plain = await run({});
  const propagated = await run({ 'encoder-propagation': 'every=3,blocks=2,noise=0' });
  assert.ok(propagated.flops < plain.flops);
  assert.ok(maxDiff(propagated.images.data, plain.images.data) > 0);
  assert.deepEqual((await run({ 'encoder-propagation': 'every=1,blocks=2,noise=0' })).images.data, plain.images.data);
});
