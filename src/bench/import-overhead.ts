// What hasten adds on top of running an imported ONNX file yourself: the same DDIM sampling loop
// (deterministic, eta = 0, the same timesteps, batch and conditioning) once through hasten's
// generate() and once written directly against onnxruntime-node on the model file, as a user of
// the file would write it. Runs alternate (hasten, direct, hasten, ...) so that load from other
// processes falls on both alike; medians are reported, with the largest difference between the two
// loops' samples, which checks that hasten reads the schedule and feeds the timestep as the file expects.

import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { makeGrid, parseGridSpec } from '../diffusion/grids.js';
import { RngStream } from '../engine/rng.js';
import { toOrt } from '../engine/runtime.js';
import type { HostTensor } from '../engine/host-tensor.js';
import type { ImportedModel } from '../import/model-folder.js';
import { timestepTensor } from '../import/probe.js';
import { timestepAt } from '../import/schedule.js';
import { IMPORTED_DEFAULT_GRID, type ImportedConditioning, importedTarget } from '../import/target.js';
import { generate } from '../pipeline/generate.js';
import { median } from './timing.js';

export interface ImportOverheadSettings {
  steps: number; // DDIM steps
  n: number; // samples, one batch
  repeats: number; // timed runs of each loop after one warm-up each
  seed: number;
}

export interface ImportOverheadResult {
  model: string;
  steps: number;
  n: number;
  repeats: number;
  hasten_s: number; // median wall seconds of one sampling run through hasten
  direct_s: number; // the same loop on onnxruntime-node directly
  overhead: number; // hasten_s / direct_s - 1
  paired_overhead: number; // the median over rounds of hasten/direct - 1 within a round: robust to load that drifts between rounds
  max_abs_difference: number; // between the two loops' samples
  max_abs_sample: number; // for scale
  machine: { cores: number; load_average: number; hasten_ort_spin: string | null };
}

export async function runImportOverheadBench(imported: ImportedModel, settings: ImportOverheadSettings, conditioning: ImportedConditioning = {}, onProgress: (message: string) => void = () => undefined): Promise<ImportOverheadResult> {
  const { steps, n, repeats, seed } = settings;
  const { signature, schedule } = imported.record;
  if (schedule.prediction !== 'eps') onProgress(`the direct loop converts ${schedule.prediction} predictions as diffusers' DDIM does`);
  const target = importedTarget(imported, n, conditioning);
  const process = imported.process;
  const grid = makeGrid(process, parseGridSpec(IMPORTED_DEFAULT_GRID), steps);
  const perSample = imported.dataShape.reduce((a, b) => a * b, 1);
  const noise = RngStream.fromSeed(seed, 'sample-noise').normal({ start: 0, count: n }, imported.dataShape, new Float64Array(n * perSample));

  const session = await ort.InferenceSession.create(join(imported.location, imported.record.graph), {
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spinsByDefault() ? '1' : '0' } } },
  });
  const cond = conditioning.cond && target.conditioning(0, n)!.cond[signature.conditioning!.name]!;
  const direct = async (): Promise<Float32Array> => {
    // x_T = sigma(T)·z, then for each step DDIM's update from the predicted x0 and eps.
    const x = Float32Array.from(noise, (z) => z * process.sigma(grid[0]!));
    for (let i = 0; i < steps; i++) {
      const t = grid[i]!;
      const next = grid[i + 1]!;
      const feeds: Record<string, ort.Tensor> = {
        [signature.sample]: new ort.Tensor('float32', x, [n, ...imported.dataShape]),
        [signature.timestep]: toOrt(timestepTensor(signature, new Array(n).fill(timestepAt(schedule, t)))),
      };
      if (cond) feeds[signature.conditioning!.name] = toOrt(cond as HostTensor);
      const out = (await session.run(feeds))[signature.output]!.data as Float32Array;
      const [a, s, aNext, sNext] = [process.alpha(t), process.sigma(t), process.alpha(next), process.sigma(next)];
      for (let j = 0; j < x.length; j++) {
        const p = out[j]!;
        const x0 = schedule.prediction === 'eps' ? (x[j]! - s * p) / a : schedule.prediction === 'v' ? a * x[j]! - s * p : p;
        const eps = schedule.prediction === 'eps' ? p : (x[j]! - a * x0) / s;
        x[j] = aNext * x0 + sNext * eps;
      }
    }
    return x;
  };
  const network = target.network({});
  const viaHasten = async (): Promise<Float32Array> => (await generate(target, { sampler: 'ddim', steps, n, batch: n, seed, grid: IMPORTED_DEFAULT_GRID, noise, network })).images.data;
  try {
    const times = { hasten: [] as number[], direct: [] as number[] };
    let samples = { hasten: new Float32Array(), direct: new Float32Array() };
    for (let round = 0; round <= repeats; round++) {
      onProgress(round === 0 ? 'warming up' : `round ${round}/${repeats}`);
      for (const [name, run] of [['hasten', viaHasten], ['direct', direct]] as const) {
        const t0 = performance.now();
        const result = await run();
        if (round > 0) times[name].push((performance.now() - t0) / 1000);
        samples = { ...samples, [name]: result };
      }
    }
    const maxAbsDifference = samples.hasten.reduce((m, v, i) => Math.max(m, Math.abs(v - samples.direct[i]!)), 0);
    const hastenS = median(times.hasten);
    const directS = median(times.direct);
    return {
      model: imported.name, steps, n, repeats, hasten_s: hastenS, direct_s: directS, overhead: hastenS / directS - 1,
      paired_overhead: median(times.hasten.map((h, i) => h / times.direct[i]! - 1)),
      max_abs_difference: maxAbsDifference, max_abs_sample: samples.direct.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
      machine: { cores: availableParallelism(), load_average: loadavg()[0]!, hasten_ort_spin: globalThis.process.env.HASTEN_ORT_SPIN ?? null },
    };
  } finally {
    await network.dispose();
    await session.release();
  }
}

/** The spinning choice hasten's own sessions make, so both loops run their threads alike. */
function spinsByDefault(): boolean {
  return globalThis.process.env.HASTEN_ORT_SPIN !== '0';
}
