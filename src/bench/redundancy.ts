// Redundancy analysis (A-SDM, "find the redundant blocks"): every module a U-Net can lose (a block
// bypassed, a residual branch or an attention layer dropped; UNet.removableModules) is removed in
// turn, with no retraining, and the pruned network is compared with the full one: the denoised
// output at several noise levels on real data, and the sampler's end result from the same noise
// (RMSE, FD and class accuracy at small n), with the FLOPs and wall time the removal saves.
// Candidates are measured one at a time and handed to onRow, so a long run resumes from the rows
// it already has.

import { assembleStudent, requireUNet } from '../compress/assemble.js';
import { openDataset } from '../data/registry.js';
import type { HostTensor } from '../engine/host-tensor.js';
import { RngStream } from '../engine/rng.js';
import type { ImageEvaluation } from '../eval/evaluate.js';
import type { FeatureNet } from '../eval/feature-net.js';
import { CompiledNetwork } from '../pipeline/sampling-network.js';
import { moduleFlops } from '../models/flops.js';
import type { RemovableModule, UNet } from '../models/unet.js';
import { EVALUATION_SEED_OFFSET, openFeatureNet, scoreSamples } from '../pipeline/evaluate-model.js';
import { generate } from '../pipeline/generate.js';
import type { TrainedModel } from '../pipeline/model-store.js';
import { networkDenoiser, objectiveProcess } from '../train/objectives.js';
import { barChart } from '../plot/bars.js';
import { median } from './timing.js';

export interface RedundancySettings {
  modules?: string[]; // module paths to remove in turn; default: every removable module
  noiseLevels: number[]; // noise levels sigma/alpha of the one-step comparison on real data
  levelN: number; // real images noised at each level
  sampler: string; // sampler of the end-result comparison
  steps: number; // its steps
  n: number; // samples of the end-result comparison (FD and accuracy at this small n)
  seed: number; // noise seed of both comparisons; the sampler's sample k starts from `hasten sample`'s noise k
  timingBatch: number; // batch of the timed forward passes
  timingRepeats: number; // interleaved full/pruned timing pairs; the median ratio is reported
}

export const REDUNDANCY_DEFAULTS: Readonly<RedundancySettings> = {
  noiseLevels: [0.05, 0.2, 0.8, 3, 12], // from fine detail to nearly pure noise on data of std 0.5
  levelN: 64,
  sampler: 'heun', // EDM's Heun, 18 steps (35 evaluations), the issue's setting
  steps: 18,
  n: 64,
  seed: 0,
  timingBatch: 64,
  timingRepeats: 5,
};

/** What one network does, and what the comparisons need from it. */
export interface Measured {
  params: number;
  gflops: number; // per image, one forward pass
  rmse_by_level: number[]; // RMSE of the denoised output against the full model's, at each noise level
  rmse_sample: number; // RMSE of the sampler's end result against the full model's from the same noise
  fd: number;
  fd_floor: number;
  accuracy?: number;
}

export interface RedundancyRow extends RemovableModule, Measured {
  flops_saved: number; // fraction of the full model's FLOPs
  wall_speedup: number; // median over interleaved pairs of full time / pruned time, one forward at timingBatch
}

export interface RedundancyResult extends RedundancySettings {
  model: string;
  full: Measured & { forward_ms: number };
  /** Sorted by the end result's RMSE: the cheapest removals first. */
  rows: RedundancyRow[];
  wall_s: number;
}

export interface RedundancyCallbacks {
  previous?: readonly RedundancyRow[]; // rows measured before (same settings): kept, not measured again
  onRow?: (row: RedundancyRow, done: number, total: number) => void;
  featureNet?: FeatureNet; // default: the shipped one for the model's data
}

function rmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum / a.length);
}

interface Outputs {
  denoised: Float64Array[];
  images: HostTensor<'float32'>;
  score: ImageEvaluation;
}

/** The network's denoised output on the noised real images at each level, and its sampler end result. */
async function outputsOf(trained: TrainedModel, network: CompiledNetwork, settings: RedundancySettings, featureNet: FeatureNet): Promise<Outputs> {
  const { objective } = trained.config;
  const process = objectiveProcess(objective);
  const dataset = openDataset(trained.config.data, { resolution: trained.config.resolution });
  const real = dataset.sample({ start: 0, count: settings.levelN }, settings.seed + EVALUATION_SEED_OFFSET);
  const perSample = real.x.data.length / settings.levelN;
  const eps = RngStream.fromSeed(settings.seed, 'redundancy-noise').normal({ start: 0, count: settings.levelN }, perSample, new Float64Array(real.x.data.length));
  const labels = trained.model.config.numClasses > 0 ? real.labels : undefined;
  const denoised: Float64Array[] = [];
  for (const level of settings.noiseLevels) {
    const t = process.tFromRho(level);
    const x = Float64Array.from(real.x.data, (v, i) => process.alpha(t) * v + process.sigma(t) * eps[i]!);
    const { denoiser } = networkDenoiser(objective, async (input, noise, batch) => {
      const feeds: Record<string, HostTensor> = { x: { dtype: 'float32', shape: [batch, ...dataset.shape], data: input }, noise: { dtype: 'float32', shape: [batch], data: noise } };
      if (labels) feeds.label = labels;
      return (await network.call(feeds)).out!.data as Float32Array;
    }, settings.levelN);
    denoised.push(await denoiser.denoise(x, t, { step: 0, stage: 0 }));
  }
  const generated = await generate(trained, { sampler: settings.sampler, steps: settings.steps, n: settings.n, seed: settings.seed, network });
  const score = (await scoreSamples(trained, generated.images, generated.labels, settings.seed, featureNet)) as ImageEvaluation;
  return { denoised, images: generated.images, score };
}

function measured(model: UNet, outputs: Outputs, reference: Outputs): Measured {
  return {
    params: model.paramCount(),
    gflops: moduleFlops(model).total / 1e9,
    rmse_by_level: outputs.denoised.map((d, i) => rmse(d, reference.denoised[i]!)),
    rmse_sample: rmse(outputs.images.data, reference.images.data),
    fd: outputs.score.fd,
    fd_floor: outputs.score.fd_floor,
    ...(outputs.score.accuracy !== undefined && { accuracy: outputs.score.accuracy }),
  };
}

/** Median over interleaved pairs of (time of `a`) / (time of `b`), and `a`'s median time, for one forward at `batch`. */
async function interleavedRatio(a: CompiledNetwork, b: CompiledNetwork, feeds: Record<string, HostTensor>, repeats: number): Promise<{ ratio: number; aMs: number }> {
  await a.call(feeds);
  await b.call(feeds);
  const ratios: number[] = [];
  const aTimes: number[] = [];
  const time = async (network: CompiledNetwork): Promise<number> => {
    const started = performance.now();
    await network.call(feeds);
    return performance.now() - started;
  };
  for (let r = 0; r < repeats; r++) {
    const aMs = await time(a);
    ratios.push(aMs / (await time(b)));
    aTimes.push(aMs);
  }
  return { ratio: median(ratios), aMs: median(aTimes) };
}

function timingFeeds(trained: TrainedModel, batch: number): Record<string, HostTensor> {
  const shape = trained.config.dataShape;
  const perSample = shape.reduce((a, b) => a * b, 1);
  const x = RngStream.fromSeed(0, 'redundancy-timing').normal({ start: 0, count: batch }, perSample);
  const feeds: Record<string, HostTensor> = { x: { dtype: 'float32', shape: [batch, ...shape], data: x }, noise: { dtype: 'float32', shape: [batch], data: new Float32Array(batch) } };
  if (trained.model.config.numClasses > 0) feeds.label = { dtype: 'int64', shape: [batch], data: new BigInt64Array(batch) };
  return feeds;
}

/** Removes each candidate in turn from `trained` (a U-Net) and measures what it costs and saves. */
export async function redundancy(trained: TrainedModel, options: Partial<RedundancySettings> = {}, callbacks: RedundancyCallbacks = {}): Promise<RedundancyResult> {
  const settings: RedundancySettings = { ...REDUNDANCY_DEFAULTS, ...options };
  const teacher = requireUNet(trained.model, `model '${trained.name}'`);
  if (trained.config.dataShape.length !== 3) throw new Error(`redundancy analysis compares images; model '${trained.name}' makes points`);
  const removable = teacher.removableModules().filter((m) => !teacher.config.removedModules.includes(m.path));
  const byPath = new Map(removable.map((m) => [m.path, m]));
  const candidates = (settings.modules ?? removable.map((m) => m.path)).map((path) => {
    const found = byPath.get(path);
    if (!found) throw new Error(`model '${trained.name}' cannot remove '${path}' (removable: ${[...byPath.keys()].join(', ')})`);
    return found;
  });
  const started = performance.now();
  const featureNet = callbacks.featureNet ?? (await openFeatureNet(trained));
  const full = new CompiledNetwork(teacher, trained.params, {}, trained.name);
  const rows: RedundancyRow[] = (callbacks.previous ?? []).filter((row) => byPath.has(row.path));
  try {
    const reference = await outputsOf(trained, full, settings, featureNet);
    const feeds = timingFeeds(trained, settings.timingBatch);
    let forwardMs = 0;
    for (const candidate of candidates) {
      if (rows.some((row) => row.path === candidate.path)) continue;
      const student = assembleStudent(teacher, trained.params, [candidate.path]);
      const pruned: TrainedModel = { ...trained, name: `${trained.name} without ${candidate.path}`, model: student.model, params: student.params };
      const network = new CompiledNetwork(student.model, student.params, {}, pruned.name);
      try {
        const outputs = await outputsOf(pruned, network, settings, featureNet);
        const timing = await interleavedRatio(full, network, feeds, settings.timingRepeats);
        forwardMs = timing.aMs;
        const row: RedundancyRow = { ...candidate, ...measured(student.model, outputs, reference), flops_saved: 0, wall_speedup: timing.ratio };
        row.flops_saved = 1 - row.gflops / (moduleFlops(teacher).total / 1e9);
        rows.push(row);
        callbacks.onRow?.(row, rows.length, candidates.length);
      } finally {
        await network.dispose();
      }
    }
    if (forwardMs === 0) forwardMs = (await interleavedRatio(full, full, feeds, settings.timingRepeats)).aMs;
    rows.sort((a, b) => a.rmse_sample - b.rmse_sample);
    return { ...settings, modules: candidates.map((c) => c.path), model: trained.name, full: { ...measured(teacher, reference, reference), forward_ms: forwardMs }, rows, wall_s: (performance.now() - started) / 1000 };
  } finally {
    await full.dispose();
    if (!callbacks.featureNet) await featureNet.dispose();
  }
}

const HOW_COLOURS: Record<RemovableModule['how'], string> = { bypass: '#4e79a7', branch: '#f28e2b', drop: '#59a14f' };

/** The ranking as bars: the end result's RMSE per removal, cheapest first, with what each saves. */
export function redundancyChart(result: RedundancyResult): string {
  const bars = result.rows.map((row) => ({
    label: `${row.path} (${row.how})`,
    value: row.rmse_sample,
    color: HOW_COLOURS[row.how],
    note: `-${(100 * row.flops_saved).toFixed(1)}% FLOPs, ${row.wall_speedup.toFixed(2)}x, FD ${row.fd.toPrecision(3)}${row.accuracy === undefined ? '' : `, acc ${(100 * row.accuracy).toFixed(1)}%`}`,
  }));
  return barChart(bars, {
    title: `Removing one module without retraining (${result.model}, ${result.sampler} ${result.steps} steps, n = ${result.n}; full model FD ${result.full.fd.toPrecision(3)})`,
    xLabel: 'RMSE of the end result against the full model from the same noise (bypass blue, residual branch orange, attention green)',
  });
}
