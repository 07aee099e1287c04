import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ddpmDiscrete } from '../../src/diffusion/process.js';
import { encodeModel } from '../../src/engine/onnx/codec.js';
import { OnnxSession } from '../../src/engine/runtime.js';
import { importModel } from '../../src/import/model-folder.js';
import { createModel } from '../../src/models/registry.js';
import type { UNet } from '../../src/models/unet.js';
import { exportDenoiser } from '../../src/pipeline/denoiser-export.js';
import { trainedTarget } from '../../src/pipeline/generate.js';
import type { TrainedModel } from '../../src/pipeline/model-store.js';
import { type ObjectiveName, objectiveSettings } from '../../src/train/objectives.js';
import { randomParams } from '../models/helpers.js';

const model = createModel({ arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 3 }) as UNet;
const params = randomParams(model, 1);
const trainedWith = (objective: ObjectiveName, network?: ObjectiveName) => ({
  name: `tiny-${objective}`, location: '', model, params,
  config: { objective: objectiveSettings(objective, network ? { network } : {}), dataShape: [3, 8, 8], classNames: null },
}) as unknown as TrainedModel;

test('the exported denoiser graph predicts the noise that hasten\'s own denoiser implies, for every parameterisation', async () => {
  const process = ddpmDiscrete();
  const x = Float32Array.from({ length: 2 * 192 }, (_, i) => Math.sin(1.3 * i));
  for (const [objective, network] of [['edm'], ['vp'], ['rf'], ['rf', 'edm']] as [ObjectiveName, ObjectiveName?][]) {
    const trained = trainedWith(objective, network);
    const session = await OnnxSession.create(encodeModel(exportDenoiser(trained, { batch: 2 }).model));
    const target = trainedTarget(trained, 2);
    const net = target.network({});
    try {
      for (const k of [20, 400, 990]) {
        const t = (k + 1) / 1000;
        const out = (await session.run({ sample: { dtype: 'float32', shape: [2, 3, 8, 8], data: x }, timestep: { dtype: 'int64', shape: [2], data: BigInt64Array.from([BigInt(k), BigInt(k)]) } })).out_sample!.data as Float32Array;
        // hasten: x0 from the denoiser at the same rho (unconditional: the null class), then eps = (x − alpha x0)/sigma.
        const run = net.run({ sampler: { evaluatesAtGridPoints: true } as never, process: target.process, grid: Float64Array.from([1, 0]), noise: new Float64Array(x.length) });
        const nullClass = { label: { dtype: 'int64' as const, shape: [2], data: BigInt64Array.from([3n, 3n]) } };
        const denoiser = target.denoiser(async (input, labels, batch, call) => run.forward({ x: { dtype: 'float32', shape: [batch, 3, 8, 8], data: input }, noise: { dtype: 'float32', shape: [batch], data: labels }, ...nullClass }, call), 2);
        const [alpha, sigma] = [process.alpha(t), process.sigma(t)];
        const nativeT = target.process.tFromRho(sigma / alpha);
        const scale = target.process.alpha(nativeT) / alpha;
        const x0 = await denoiser.denoise(Float64Array.from(x, (v) => v * scale), nativeT, { step: 0, stage: 0 });
        let worst = 0;
        let size = 0;
        for (let i = 0; i < x.length; i++) {
          const eps = (x[i]! - alpha * x0[i]!) / sigma;
          worst = Math.max(worst, Math.abs(out[i]! - eps));
          size = Math.max(size, Math.abs(eps));
        }
        assert.ok(worst <= 1e-3 * Math.max(1, size), `${objective}${network ? `/${network}` : ''} at timestep ${k}: ${worst} (|eps| up to ${size})`);
      }
    } finally {
      await session.dispose();
      await net.dispose();
    }
  }
});

test('an exported denoiser re-imports as an external model: its skips are found and every cut reproduces it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hasten-export-'));
  const { model: onnx, schedulerConfig } = exportDenoiser(trainedWith('edm'), { batch: 2 });
  mkdirSync(join(dir, 'export'));
  writeFileSync(join(dir, 'export', 'model.onnx'), encodeModel(onnx));
  writeFileSync(join(dir, 'export', 'scheduler_config.json'), JSON.stringify(schedulerConfig));
  const record = await importModel({ onnx: join(dir, 'export', 'model.onnx'), scheduler: join(dir, 'export', 'scheduler_config.json'), out: join(dir, 'imported') });
  assert.equal(record.analysis_error, undefined);
  assert.equal(record.analysis!.structure.skips.length, model.numSkips);
  assert.deepEqual(record.analysis!.structure.skips.map((s) => s.channels).reverse(), model.skips().map((s) => s.channels));
  assert.equal(record.signature.batch, 2);
});
