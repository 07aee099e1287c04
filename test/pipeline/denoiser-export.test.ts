import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ddpmDiscrete } from '../../src/diffusion/process.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import { encodeModel } from '../../src/engine/onnx/codec.js';
import { OnnxSession } from '../../src/engine/runtime.js';
import { importModel, openImportedModel } from '../../src/import/model-folder.js';
import { ImportedNetwork } from '../../src/import/network.js';
import { createModel } from '../../src/models/registry.js';
import type { UNet } from '../../src/models/unet.js';
import { exportDenoiser } from '../../src/pipeline/denoiser-export.js';
import { generate, trainedTarget } from '../../src/pipeline/generate.js';
import { importedTarget } from '../../src/import/target.js';
import { type TrainedModel, loadTrainedModel } from '../../src/pipeline/model-store.js';
import { type ObjectiveName, noiseLabel, objectiveSettings } from '../../src/train/objectives.js';
import { hasten } from '../cli/run-cli.js';
import { randomParams } from '../models/helpers.js';

const model = createModel({ arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 3 }) as UNet;
const params = randomParams(model, 1);
const trainedWith = (objective: ObjectiveName, network?: ObjectiveName) => ({
  name: `tiny-${objective}`, location: '', model, params,
  config: { objective: objectiveSettings(objective, network ? { network } : {}), dataShape: [3, 8, 8], classNames: null },
}) as unknown as TrainedModel;

/** eps at DDPM timestep k as hasten's own denoiser implies it: x0 at the same rho and class labels (numClasses: the null class), then eps = (x − alpha x0)/sigma. */
async function nativeEps(trained: TrainedModel, x: Float32Array, labels: number[], k: number): Promise<Float64Array> {
  const rows = labels.length;
  const process = ddpmDiscrete();
  const [c, h, w] = trained.config.dataShape as [number, number, number];
  const target = trainedTarget(trained, rows);
  const net = target.network({});
  try {
    const run = net.run({ sampler: { evaluatesAtGridPoints: true } as never, process: target.process, grid: Float64Array.from([1, 0]), noise: new Float64Array(x.length) });
    const label = { label: { dtype: 'int64' as const, shape: [rows], data: BigInt64Array.from(labels, BigInt) } };
    const denoiser = target.denoiser(async (input, noise, batch, call) => run.forward({ x: { dtype: 'float32', shape: [batch, c, h, w], data: input }, noise: { dtype: 'float32', shape: [batch], data: noise }, ...label }, call), rows);
    const t = (k + 1) / 1000;
    const [alpha, sigma] = [process.alpha(t), process.sigma(t)];
    const nativeT = target.process.tFromRho(sigma / alpha);
    const scale = target.process.alpha(nativeT) / alpha;
    const x0 = await denoiser.denoise(Float64Array.from(x, (v) => v * scale), nativeT, { step: 0, stage: 0 });
    return Float64Array.from(x, (v, i) => (v - alpha * x0[i]!) / sigma);
  } finally {
    await net.dispose();
  }
}

/** Checks max |out − eps| <= 1e-3 · max(1, max |eps|) and returns that ratio. */
function assertClose(out: Float32Array, eps: Float64Array, what: string): number {
  let worst = 0;
  let size = 0;
  for (let i = 0; i < eps.length; i++) {
    worst = Math.max(worst, Math.abs(out[i]! - eps[i]!));
    size = Math.max(size, Math.abs(eps[i]!));
  }
  assert.ok(worst <= 1e-3 * Math.max(1, size), `${what}: ${worst} (|eps| up to ${size})`);
  return worst / Math.max(1, size);
}

test('the exported denoiser graph predicts the noise that hasten\'s own denoiser implies, for every parameterisation', async () => {
  const x = Float32Array.from({ length: 2 * 192 }, (_, i) => Math.sin(1.3 * i));
  for (const [objective, network] of [['edm'], ['vp'], ['rf'], ['rf', 'edm']] as [ObjectiveName, ObjectiveName?][]) {
    const trained = trainedWith(objective, network);
    const session = await OnnxSession.create(encodeModel(exportDenoiser(trained, { batch: 2 }).model));
    try {
      // A class and the null class (3) in one batch.
      for (const k of [20, 400, 990]) {
        const feeds: Record<string, HostTensor> = { sample: { dtype: 'float32', shape: [2, 3, 8, 8], data: x }, timestep: { dtype: 'int64', shape: [2], data: BigInt64Array.from([BigInt(k), BigInt(k)]) }, class_labels: { dtype: 'int64', shape: [2], data: BigInt64Array.from([1n, 3n]) } };
        const out = (await session.run(feeds)).out_sample!.data as Float32Array;
        assertClose(out, await nativeEps(trained, x, [1, 3], k), `${objective}${network ? `/${network}` : ''} at timestep ${k}`);
      }
    } finally {
      await session.dispose();
    }
  }
});

/** The shipped shapes model exported with hasten export --onnx --denoiser and imported with hasten import, once for the tests below. */
let reimported: Promise<string> | undefined;
function shapesReimported(): Promise<string> {
  reimported ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hasten-export-'));
    const exported = await hasten('export', '--model', 'shapes', '--out', join(dir, 'export'), '--onnx', '--denoiser', '--json');
    assert.equal(exported.code, 0, exported.err.join('\n'));
    const imported = await hasten('import', '--onnx', join(dir, 'export', 'model.onnx'), '--scheduler', join(dir, 'export', 'scheduler_config.json'), '--out', join(dir, 'imported'));
    assert.equal(imported.code, 0, imported.err.join('\n'));
    return join(dir, 'imported');
  })();
  return reimported;
}

test('the shipped shapes model exported with a dynamic batch re-imports through hasten import as an external model and predicts our noise at any batch and class', async (ctx) => {
  const dir = await shapesReimported();
  const trained = await loadTrainedModel('shapes');
  const { record } = openImportedModel(dir);
  assert.equal(record.signature.batch, 'dynamic');
  // The class count and the null class come from the config.json the export writes beside the graph.
  assert.deepEqual({ ...record.signature.classLabels, source: undefined }, { name: 'class_labels', dtype: 'int64', classes: 9, nullClass: 8, names: trained.config.classNames, source: undefined });
  assert.equal(record.analysis_error, undefined);
  assert.deepEqual(record.analysis!.structure.skips.map((s) => s.channels).reverse(), (trained.model as UNet).skips().map((s) => s.channels));
  const network = new ImportedNetwork(openImportedModel(dir));
  try {
    // Mixed classes in one batch, the null class among them.
    for (const [labels, k] of [[[2], 700], [[0, 5, 8], 150]] as const) {
      const rows = labels.length;
      const x = Float32Array.from({ length: rows * 3 * 32 * 32 }, (_, i) => Math.sin(0.37 * i));
      // hasten's feeds: the noise label of DDPM timestep k, which the imported schedule turns back into k.
      const t = (k + 1) / 1000;
      const label = noiseLabel(ddpmDiscrete().rho(t));
      const classLabels = { dtype: 'int64' as const, shape: [rows], data: BigInt64Array.from(labels, BigInt) };
      const out = await network.call({ x: { dtype: 'float32', shape: [rows, 3, 32, 32], data: x }, noise: { dtype: 'float32', shape: [rows], data: new Float32Array(rows).fill(label) }, class_labels: classLabels });
      assert.deepEqual(out.out!.shape, [rows, 3, 32, 32]);
      const error = assertClose(out.out!.data as Float32Array, await nativeEps(trained, x, [...labels], k), `batch ${rows} (classes ${labels.join(', ')}) at timestep ${k}`);
      ctx.diagnostic(`batch ${rows}, classes ${labels.join(', ')}, timestep ${k}: max |difference| / max(1, max |eps|) = ${error.toExponential(2)}`);
    }
  } finally {
    await network.dispose();
  }
});

test('hasten eval of the re-imported shapes export against --data shapes gives the figures of hasten eval of shapes itself', async (ctx) => {
  const dir = await shapesReimported();
  // Both draw class k mod 8 for sample k; guidance 2 runs each call's class and null-class halves as
  // one batch on both sides. Two DDIM steps on the DDPM schedule visit timesteps 999 and 0 only, both
  // knots the integer timestep input feeds exactly; the native grid visits the same noise levels.
  const ddpm = ddpmDiscrete();
  const knots = `karras:tmax=${ddpm.rho(1)}:tmin=${ddpm.rho(ddpm.tMin)}`;
  const common = ['--sampler', 'ddim', '--steps', '2', '--n', '6', '--batch', '3', '--guidance', '2', '--real-sets', '2', '--seed', '3', '--json'];
  const imported = await hasten('eval', '--model', dir, '--data', 'shapes', ...common);
  assert.equal(imported.code, 0, imported.err.join('\n'));
  const native = await hasten('eval', '--model', 'shapes', '--grid', knots, ...common);
  assert.equal(native.code, 0, native.err.join('\n'));
  const [a, b] = [JSON.parse(imported.out[0]!), JSON.parse(native.out[0]!)];
  assert.equal(a.data, 'shapes');
  assert.equal(typeof a.accuracy, 'number', 'the drawn classes are scored');
  assert.equal(a.accuracy, b.accuracy, 'accuracy against the drawn labels');
  ctx.diagnostic(`accuracy: imported ${a.accuracy}, native ${b.accuracy}`);
  // The same real sets: the floors agree bit for bit.
  for (const key of ['n', 'real_sets', 'fd_floor', 'fd_floor_std', 'kid_floor', 'kid_floor_std']) assert.equal(a[key], b[key], key);
  // eps-prediction divides by alpha = 0.0064 at timestep 999, so float32 rounding in the graph grows about 160x.
  for (const key of ['fd', 'kid']) {
    const relative = Math.abs(a[key] - b[key]) / Math.abs(b[key]);
    ctx.diagnostic(`${key}: imported ${a[key]}, native ${b[key]}, relative difference ${relative.toExponential(2)}`);
    assert.ok(relative < 1e-3, `${key}: imported ${a[key]}, native ${b[key]}`);
  }
  assert.equal(a.nfe, b.nfe, 'both guide with two halves per call');
});

test('an exported denoiser re-imports as an external model: its skips are found and every cut reproduces it; class labels need a known class count', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hasten-export-'));
  const { model: onnx, schedulerConfig } = exportDenoiser(trainedWith('edm'), { batch: 2 });
  mkdirSync(join(dir, 'export'));
  writeFileSync(join(dir, 'export', 'model.onnx'), encodeModel(onnx));
  writeFileSync(join(dir, 'export', 'scheduler_config.json'), JSON.stringify(schedulerConfig));
  const files = { onnx: join(dir, 'export', 'model.onnx'), scheduler: join(dir, 'export', 'scheduler_config.json'), out: join(dir, 'imported') };
  // Without the config.json the export writes beside the graph, nothing says how many classes class_labels takes.
  await assert.rejects(importModel(files), /input class_labels int64\[2\] takes class labels, but the number of classes is unknown: give --classes N/);
  const record = await importModel({ ...files, classes: 4 });
  assert.equal(record.analysis_error, undefined);
  assert.equal(record.analysis!.structure.skips.length, model.numSkips);
  assert.deepEqual(record.analysis!.structure.skips.map((s) => s.channels).reverse(), model.skips().map((s) => s.channels));
  assert.equal(record.signature.batch, 2);
  assert.deepEqual(record.signature.classLabels, { name: 'class_labels', dtype: 'int64', classes: 4, source: '--classes' });
  const imported = openImportedModel(files.out);
  assert.throws(() => importedTarget(imported, 2, { classes: [4] }), /class 4 is out of range: the model's labels are 0\.\.3/);
  // No null class known: the plain conditional model samples, guidance is refused before any work.
  const target = importedTarget(imported, 3, { classes: [2, 0] });
  assert.deepEqual(target.labels, [2, 0, 2]);
  assert.equal(target.conditioning(0, 3)!.uncond, undefined);
  await assert.rejects(generate(target, { sampler: 'ddim', steps: 1, n: 3, seed: 0, guidance: 2 }), /guidance 2 needs unconditional inputs: .* has no known null class to guide against: import it again with --null-class K/);
  // With one, guidance pushes away from it, and the classes drawn by default skip it.
  await importModel({ ...files, out: join(dir, 'guided'), classes: 4, nullClass: 3 });
  const guided = importedTarget(openImportedModel(join(dir, 'guided')), 4);
  assert.deepEqual(guided.labels, [0, 1, 2, 0]);
  assert.deepEqual(guided.conditioning(1, 2)!.uncond!.class_labels!.data, BigInt64Array.from([3n, 3n]));
  assert.throws(() => importedTarget(openImportedModel(join(dir, 'guided')), 1, { classes: [3] }), /class 3 is the null class/);
});
