import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import type { Tensor } from '../../src/engine/graph.js';
import * as F from '../../src/engine/ops/index.js';
import { type InputSpec, type TraceFn, traceFunction } from '../../src/engine/runtime.js';
import { TrainStep } from '../../src/engine/train-step.js';
import { initParams } from '../../src/models/init.js';
import { type EncoderFeatures, netTraceFn } from '../../src/models/network.js';
import { ModelConfigError } from '../../src/models/config-checks.js';
import { ModuleContext, cacheName } from '../../src/models/module-context.js';
import { createModel } from '../../src/models/registry.js';
import { UNet } from '../../src/models/unet.js';
import { maxAbs, maxAbsDiff, randomInputs, randomParams, rows, runOnce, stack } from './helpers.js';

const TINY = {
  arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1,
  attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, textWidth: 16,
};

const tinyUNet = (settings: Record<string, unknown> = {}): UNet => createModel({ ...TINY, ...settings }) as UNet;

test('unet: output shapes across configs', async () => {
  const configs: Record<string, unknown>[] = [
    { attentionResolutions: [], middleAttention: false },
    { numClasses: 3 },
    { captionTokens: 4 },
    { condVectorDim: 5, inChannels: 1, outChannels: 2, channelMultipliers: [1, 2, 2], noiseEmbedding: 'positional' },
    { channelMultipliers: [2], attentionResolutions: [8], blocksPerLevel: 2 },
  ];
  for (const settings of configs) {
    const model = tinyUNet(settings);
    const out = (await runOnce(netTraceFn(model), randomParams(model, 1), randomInputs(model, 2, 2))).out!;
    assert.deepEqual(out.shape, [2, model.config.outChannels, 8, 8], JSON.stringify(settings));
    assert.ok(out.data.every((v) => Number.isFinite(v)), JSON.stringify(settings));
    assert.ok(maxAbs(out) > 0);
  }
});

test('unet: module names, kinds and roles', () => {
  const model = tinyUNet({ captionTokens: 4 });
  const byPath = new Map(model.modules().map((m) => [m.path, m]));
  assert.deepEqual(byPath.get('dec.1.0.attn.cross'), { path: 'dec.1.0.attn.cross', kind: 'unit', role: 'decoder' });
  assert.deepEqual(byPath.get('enc.1.0.attn'), { path: 'enc.1.0.attn', kind: 'layer', role: 'encoder' });
  assert.deepEqual(byPath.get('mid.1'), { path: 'mid.1', kind: 'block', role: 'middle' });
  assert.equal(byPath.get('text')?.role, 'conditioning');
  const paths = model.modules().map((m) => m.path);
  assert.ok(paths.indexOf('enc.1.0') < paths.indexOf('mid.0') && paths.indexOf('mid.1') < paths.indexOf('dec.1.0') && paths.at(-1) === 'out');
  for (const name of model.paramShapes().keys()) assert.ok(paths.some((p) => name.startsWith(`${p}.`)), `parameter ${name} outside every module`);
});

test('unet: skips are ordered outermost first and consumed innermost first', () => {
  const model = tinyUNet({ channelMultipliers: [1, 2, 2], blocksPerLevel: 2 });
  const skips = model.skips();
  assert.equal(skips.length, model.numSkips);
  assert.equal(skips.length, 3 * 3);
  assert.deepEqual(skips[0], { index: 0, source: 'enc.0.conv', consumer: 'dec.0.2', level: 0, resolution: 8, channels: 8 });
  assert.deepEqual(skips.at(-1), { index: 8, source: 'enc.2.1', consumer: 'dec.2.0', level: 2, resolution: 2, channels: 16 });
  const decoderOrder = model.modules().filter((m) => /^dec\.\d\.\d$/.test(m.path)).map((m) => m.path);
  assert.deepEqual(decoderOrder, [...skips].reverse().map((s) => s.consumer));
});

/** Explicit encode and decode graphs: encode outputs skip<i> and h; decode reads them, with its own noise/label inputs. */
function encodeFn(model: UNet) {
  return netFn((ctx, inputs) => {
    const features = model.encode(ctx, inputs.x!, model.embed(ctx, { noise: inputs.noise!, label: inputs.label }));
    return { h: features.h, ...Object.fromEntries(features.skips.map((s, i) => [`skip${i}`, s])) };
  });
}

function decodeFn(model: UNet) {
  return netFn((ctx, inputs) => {
    const features: EncoderFeatures = { h: inputs.h!, skips: model.skips().map((s) => inputs[`skip${s.index}`]!) };
    return { out: model.decode(ctx, features, model.embed(ctx, { noise: inputs.noise!, label: inputs.label }), { skipScale: inputs.skipScale }) };
  });
}

function netFn(body: (ctx: ModuleContext, inputs: Record<string, Tensor>) => Record<string, Tensor>): TraceFn {
  return (graph, inputs) => body(new ModuleContext(graph), inputs);
}

test('unet: encode + decode equals forward, and the decoder batches several steps on tiled features', async () => {
  const model = tinyUNet({ numClasses: 3 });
  const params = randomParams(model, 3);
  const inputs = randomInputs(model, 2, 4);
  const plain = (await runOnce(netTraceFn(model), params, inputs)).out!;
  const features = await runOnce(encodeFn(model), params, { x: inputs.x!, noise: inputs.noise!, label: inputs.label! });
  const decoded = (await runOnce(decodeFn(model), params, { ...features, noise: inputs.noise!, label: inputs.label! })).out!;
  assert.equal(maxAbsDiff(decoded, plain), 0);

  // Two later steps decoded at once on the same cached features: each copy gets its own noise label.
  const laterNoise: HostTensor = { dtype: 'float32', shape: [2], data: Float32Array.of(0.25, -0.75) };
  const otherNoise: HostTensor = { dtype: 'float32', shape: [2], data: Float32Array.of(0.9, 0.1) };
  const batched = (await runOnce(decodeFn(model), params, { ...features, noise: stack([laterNoise, otherNoise]), label: stack([inputs.label!, inputs.label!]) })).out!;
  for (const [copy, noise] of [laterNoise, otherNoise].entries()) {
    const single = (await runOnce(decodeFn(model), params, { ...features, noise, label: inputs.label! })).out!;
    assert.ok(maxAbsDiff(rows(batched, 2 * copy, 2), single) < 1e-5);
    assert.ok(maxAbsDiff(single, plain) > 1e-3, 'the decoder uses its own time embedding');
  }
});

test('unet: the plan captures the encoder outputs and a decoder-only graph reuses them', async () => {
  const model = tinyUNet({ numClasses: 3 });
  const params = randomParams(model, 5);
  const inputs = randomInputs(model, 2, 6);
  const encoderOutputs = model.encoderOutputs(2);
  assert.deepEqual([...encoderOutputs.keys()], [...model.skips().map((s) => s.source), 'mid']);
  const captured = await runOnce(netTraceFn(model, { capture: new Set(encoderOutputs.keys()) }), params, inputs);
  const decoderOnly = netTraceFn(model, { reuse: encoderOutputs });
  const cache = Object.fromEntries([...encoderOutputs.keys()].map((path) => [cacheName(path), captured[cacheName(path)]!]));
  const reused = (await runOnce(decoderOnly, params, { ...inputs, ...cache })).out!;
  assert.equal(maxAbsDiff(reused, captured.out!), 0);

  // The cached batch of 2 tiled to a call of batch 4: two steps decoded at once, the first at the cached step's noise.
  const laterNoise: HostTensor = { dtype: 'float32', shape: [2], data: Float32Array.of(0.5, 0.5) };
  const twoSteps = { x: stack([inputs.x!, inputs.x!]), noise: stack([inputs.noise!, laterNoise]), label: stack([inputs.label!, inputs.label!]), ...cache };
  const batched = (await runOnce(decoderOnly, params, twoSteps)).out!;
  assert.ok(maxAbsDiff(rows(batched, 0, 2), reused) < 1e-5);
  assert.ok(maxAbsDiff(rows(batched, 2, 2), reused) > 1e-3);
});

test('unet: one training step on a tiny model gives a finite loss', async () => {
  const model = tinyUNet({ numClasses: 3 });
  const params = initParams(model, 11);
  const step = new TrainStep(params, (graph, batch) => {
    const out = model.forward(new ModuleContext(graph), { x: batch.x!, noise: batch.noise!, label: batch.label });
    return F.mean(F.square(F.sub(out, batch.target!)));
  }, { threads: 1 });
  try {
    const inputs = randomInputs(model, 4, 12);
    const before = params.get('out.conv.weight')!.data.slice();
    const { loss, gradNorm } = await step.step({ ...inputs, target: randomInputs(model, 4, 13).x! }, 1e-3);
    assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
    assert.ok(Number.isFinite(gradNorm) && gradNorm > 0, `gradient norm ${gradNorm}`);
    assert.ok(params.get('out.conv.weight')!.data.some((v, i) => v !== before[i]), 'the zero-initialised output conv moves');
  } finally {
    await step.dispose();
  }
});

test('unet: bad configs name the setting', () => {
  const rejects = (settings: Record<string, unknown>, pattern: RegExp): void => assert.throws(() => tinyUNet(settings), (e: Error) => e instanceof ModelConfigError && pattern.test(e.message), JSON.stringify(settings));
  rejects({ baseChannels: 6 }, /'groupNormGroups' 4/);
  rejects({ resolution: 6, channelMultipliers: [1, 2, 2] }, /'resolution' \(6\) must be divisible by 2\^\(levels - 1\) = 4/);
  rejects({ attentionResolutions: [3] }, /'attentionResolutions' has 3/);
  rejects({ attentionHeadChannels: 5 }, /'attentionHeadChannels' 5/);
  rejects({ blocksPerLevel: 0 }, /'blocksPerLevel' must be an integer >= 1/);
  rejects({ channelMultipliers: [] }, /'channelMultipliers' needs at least one level/);
  rejects({ numClasses: -1 }, /'numClasses'/);
  rejects({ captionTokens: 4, textWidth: 15 }, /'textWidth' \(15\) must be divisible by 'textHeads'/);
  rejects({ noiseEmbedding: 'sinusoid' }, /'noiseEmbedding' must be one of fourier, positional/);
  rejects({ skipScale: 1 }, /unknown setting 'skipScale'/);
  rejects({ baseChannels: '8' }, /'baseChannels' must be a number/);
});

test('unet: missing or unexpected conditioning inputs are named', () => {
  const conditional = tinyUNet({ numClasses: 3 });
  assert.throws(() => traceFunction(netTraceFn(conditional), { x: { shape: [1, 3, 8, 8], dtype: 'float32' }, noise: { shape: [1], dtype: 'float32' } }), /conditioned on label \(setting 'numClasses'\)/);
  const unconditional = tinyUNet();
  assert.throws(() => traceFunction(netTraceFn(unconditional), { ...unconditional.inputSpecs(1), label: { shape: [1], dtype: 'int64' } }), /no label conditioning/);
  assert.throws(() => traceFunction(netTraceFn(unconditional), { ...unconditional.inputSpecs(2), skipScale: { shape: [3], dtype: 'float32' } }), /skipScale must be \[4\] or \[2, 4\]/);
});

test('unet: capturing and reusing any block, layer or unit reproduces the output', async () => {
  const model = tinyUNet({ captionTokens: 4 });
  const params = randomParams(model, 7);
  const inputs = randomInputs(model, 2, 8);
  for (const path of ['enc.1.0', 'mid.0.res', 'dec.1.0.attn.self', 'dec.1.1.attn.cross', 'dec.0.0', 'text']) {
    const captured = await runOnce(netTraceFn(model, { capture: new Set([path]) }), params, inputs);
    const value = captured[cacheName(path)]!;
    const reused = (await runOnce(netTraceFn(model, { reuse: new Map([[path, value.shape]]) }), params, { ...inputs, [cacheName(path)]: value })).out!;
    assert.equal(maxAbsDiff(reused, captured.out!), 0, path);
  }
});

test('unet: Skip-Tuning scales every skip before its concatenation; all ones restore the plain model', async () => {
  const model = tinyUNet({ numClasses: 3 });
  const params = randomParams(model, 9);
  const inputs = randomInputs(model, 2, 10);
  const plain = (await runOnce(netTraceFn(model), params, inputs)).out!;
  const n = model.numSkips;
  const scaled = async (values: number[], shape: number[]) => (await runOnce(netTraceFn(model), params, { ...inputs, skipScale: { dtype: 'float32', shape, data: Float32Array.from(values) } })).out!;
  assert.ok(maxAbsDiff(await scaled(new Array(n).fill(1), [n]), plain) < 1e-5);
  const half = await scaled(new Array(n).fill(0.5), [n]);
  assert.ok(maxAbsDiff(half, plain) > 1e-3);
  // Per-sample factors ([B, numSkips]), as a batched decode of steps at different noise levels needs.
  const perSample = await scaled([...new Array(n).fill(1), ...new Array(n).fill(0.5)], [2, n]);
  assert.ok(maxAbsDiff(rows(perSample, 0, 1), rows(plain, 0, 1)) < 1e-5);
  assert.ok(maxAbsDiff(rows(perSample, 1, 1), rows(half, 1, 1)) < 1e-5);
  // Without skipScale no multiply is traced; with it, exactly one per skip.
  const multiplies = (specs: Record<string, InputSpec>): number => traceFunction(netTraceFn(model), specs).graph.nodes.filter((node) => node.op.name === 'mul').length;
  const specs = model.inputSpecs(1);
  assert.equal(multiplies({ ...specs, skipScale: { shape: [n], dtype: 'float32' } }) - multiplies(specs), n);
});

test('unet: every op is per sample, so a sample does not depend on the rest of its batch (CFG halves stay independent)', async () => {
  const model = tinyUNet({ captionTokens: 4 });
  const params = randomParams(model, 14);
  const inputs = randomInputs(model, 3, 15);
  const together = (await runOnce(netTraceFn(model), params, inputs)).out!;
  const alone = (await runOnce(netTraceFn(model), params, Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, rows(t, 1, 1)])))).out!;
  assert.ok(maxAbsDiff(rows(together, 1, 1), alone) < 1e-5);
});

test('unet: removed modules compute what the full model computes with those modules silenced', async () => {
  const full = tinyUNet({ numClasses: 3 });
  const removedModules = ['enc.0.0', 'enc.1.0.res', 'mid.0.attn', 'dec.0.1'];
  const student = tinyUNet({ numClasses: 3, removedModules });
  const params = randomParams(full, 16);
  const kept = new Map([...student.paramShapes().keys()].map((name) => [name, params.get(name)!]));
  assert.ok(student.paramCount() < full.paramCount());
  // The full model with the same modules silenced: a zero last conv makes a residual branch vanish,
  // zero output layers make a transformer layer the identity, and a decoder block whose shortcut
  // passes its first input through while its branch is zero is a bypass that ignores its skip.
  const silenced = new Map([...params].map(([name, t]) => [name, { ...t, data: t.data.slice() }]));
  const zero = (prefix: string): void => {
    for (const [name, t] of silenced) if (name.startsWith(prefix)) t.data.fill(0);
  };
  for (const prefix of ['enc.0.0.res.conv1.', 'enc.1.0.res.conv1.', 'mid.0.attn.self.out.', 'mid.0.attn.mlp.fc2.', 'dec.0.1.res.conv1.', 'dec.0.1.res.shortcut.']) zero(prefix);
  const shortcut = silenced.get('dec.0.1.res.shortcut.weight')!;
  const [outChannels, inChannels] = shortcut.shape as number[];
  for (let c = 0; c < outChannels!; c++) shortcut.data[c * inChannels! + c] = 1;
  const inputs = randomInputs(full, 2, 17);
  const reference = (await runOnce(netTraceFn(full), silenced, inputs)).out!;
  const out = (await runOnce(netTraceFn(student), kept, inputs)).out!;
  assert.ok(maxAbsDiff(out, reference) < 1e-5, `max difference ${maxAbsDiff(out, reference)}`);
  assert.ok(maxAbsDiff(out, (await runOnce(netTraceFn(full), params, inputs)).out!) > 1e-3);
  const paths = student.modules().map((m) => m.path);
  for (const path of ['enc.0.0', 'enc.1.0.attn', 'dec.0.1']) assert.equal(paths.includes(path) && path !== 'enc.1.0.attn', false, path);
  assert.ok(paths.includes('enc.1.0.res') && paths.includes('enc.1.0.attn') && !paths.includes('mid.0.attn'));
});

test('unet: removable modules follow the shapes, and a bad removal names the setting', () => {
  const model = tinyUNet();
  const removable = new Map(model.removableModules().map((m) => [m.path, m.how]));
  assert.equal(removable.get('enc.0.0'), 'bypass');
  assert.equal(removable.get('enc.1.0'), undefined, 'enc.1.0 changes the channels: only its layers can go');
  assert.equal(removable.get('enc.1.0.res'), 'branch');
  assert.equal(removable.get('enc.1.0.attn'), 'drop');
  assert.equal(removable.get('enc.0.0.res'), undefined, 'without attention the branch is the block');
  assert.equal(removable.get('dec.0.0'), undefined);
  assert.equal(removable.get('dec.0.1.res'), 'branch', 'a decoder block keeps its 1x1 shortcut over the concatenated skip');
  assert.equal(removable.get('mid'), 'bypass');
  for (const path of removable.keys()) assert.doesNotThrow(() => tinyUNet({ removedModules: [path] }), path);
  const rejects = (removedModules: unknown, pattern: RegExp): void => assert.throws(() => tinyUNet({ removedModules }), (e: Error) => e instanceof ModelConfigError && pattern.test(e.message), JSON.stringify(removedModules));
  rejects(['enc.1.0'], /"enc.1.0", which this config cannot remove \(removable: enc.0.0, /);
  rejects(['mid', 'mid.0.attn'], /'mid.0.attn' inside 'mid'/);
  rejects(['mid.1', 'mid.1'], /'mid.1' twice/);
  rejects([3], /'removedModules' must be a list of strings/);
});
