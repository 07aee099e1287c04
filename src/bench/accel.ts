// `hasten bench accel`: the training-free accelerations of src/accel against the plain model on the
// same sampler, steps and noise. Per config: the wall-clock speedup beside the FLOP reduction it
// should realise, sample quality (FD, class accuracy) and how far the samples drift from the plain
// model's from the same noise; plus Skip-Tuning's FD over a factor x NFE grid.
//
// Wall times come from separate small runs, the same size for every config and interleaved across
// configs (plain, A, B, plain, A, B, ...), so that load from other processes falls on all of them
// alike; medians are quoted. Quality comes from one larger run per config. With a baseline (another
// built checkout, --baseline DIR) each timed run of this build is paired with the same run of the
// baseline's code, in alternating order, so a code change is measured against the code before it
// under the same load.

import { availableParallelism, cpus, loadavg, platform, arch } from 'node:os';
import { type AccelConfig, type AccelFlags, ACCEL_FLAG_HELP, describeAccel, isPlain, parseAccelFlags } from '../accel/config.js';
import type { CachingMethod } from '../accel/caching.js';
import { AccelSettingError } from '../accel/errors.js';
import type { SkipTuning } from '../accel/skip-tuning.js';
import { openDataset } from '../data/registry.js';
import { getSampler, stepsForNfe } from '../diffusion/samplers/index.js';
import type { ImageEvaluation } from '../eval/evaluate.js';
import { type FeatureNet, shippedFeatureNetDir } from '../eval/feature-net.js';
import { openFeatureNet, scoreSamples } from '../pipeline/evaluate-model.js';
import { type GenerateResult, type SamplingNetwork, type SamplingTarget, generate, trainedTarget } from '../pipeline/generate.js';
import type { TrainedModel } from '../pipeline/model-store.js';
import { median } from './timing.js';
import { loadBuildModule } from './side-by-side.js';

export type AccelMethod = 'plain' | 'skip-tuning' | CachingMethod;

/** Configs as describeAccel writes them, so a row's `config` can be passed back as --config. */
export const DEFAULT_BENCH_CONFIGS: readonly string[] = [
  'encoder-propagation every=2',
  'encoder-propagation every=3',
  'encoder-propagation keys=dense-early',
  'encoder-propagation every=3,parallel=off', // against the row above: what batched decoding buys
  'encoder-propagation every=3,noise=0', // against every=3: what prior noise injection costs or buys
  'feature-inheritance modules=mid,every=2',
  'feature-inheritance modules=dec.2.*/mid,every=2',
  'feature-inheritance modules=*.attn.mlp,every=2', // unit granularity
  'feature-inheritance modules=enc.2.*/mid/dec.2.*,every=3',
  'deepcache every=2,branch=1',
  'deepcache every=3,branch=1',
  'deepcache every=3,branch=0',
  'deepcache every=5,branch=0',
  'skip-tuning 0.8',
];

export interface AccelBenchSettings {
  sampler: string; // sampler of every row
  steps: number; // sampler steps of every row
  n: number; // samples scored per config (and per sweep point); FD is compared with fd_floor at this n
  seed: number; // noise seed: every config starts from the same noise
  batch: number; // samples per network call in the scored runs
  timingN: number; // samples in each timed run (one batch), the same for every config
  repeats: number; // timed runs per config after one warm-up, interleaved across configs
  configs: AccelConfig[]; // compared with the plain model, which always comes first
  sweepFactors: number[]; // Skip-Tuning factors of the sweep
  sweepNfe: number[]; // NFEs of the sweep (steps by stepsForNfe); empty: no sweep
  baseline?: string; // another built hasten checkout whose networks are timed beside this build's
}

export const ACCEL_BENCH_DEFAULTS: Readonly<AccelBenchSettings> = {
  sampler: 'ddim', // the sampler of the caching papers' headline results
  steps: 50, // their DDIM step count
  n: 500,
  seed: 0,
  batch: 64,
  timingN: 16, // small enough to time every config several times, large enough to fill the cores
  repeats: 5,
  configs: DEFAULT_BENCH_CONFIGS.map(parseBenchConfig),
  sweepFactors: [0.5, 0.6, 0.7, 0.8, 0.9, 1],
  sweepNfe: [5, 10, 20], // Skip-Tuning targets few-step sampling
};

export interface AccelBenchRow {
  method: AccelMethod; // the caching method where there is one, else skip-tuning or plain
  config: string; // describeAccel's text, which --config accepts
  sampler: string;
  nfe: number;
  wall_s: number; // median seconds of a timed run of timing_n samples
  speedup: number; // plain wall_s / wall_s
  gflops: number; // GFLOPs per image, counted on the graphs that ran
  flop_speedup: number; // plain gflops / gflops
  flop_speedup_realised: number; // speedup / flop_speedup: the share of the FLOP reduction the wall clock sees
  fd: number | null; // null where no feature network fits the data
  accuracy: number | null; // null also for unconditional models
  rmse_to_plain: number; // RMS difference to the plain model's samples from the same noise, over all values
  baseline?: BaselineTiming; // with a baseline build: the same config timed on its code
}

/** A config's timed runs on the baseline build, interleaved with this build's. */
export interface BaselineTiming {
  wall_s: number; // median seconds of its timed runs
  speedup: number; // the baseline's plain wall_s / wall_s
  gflops: number; // GFLOPs per image it ran
  flop_speedup: number; // the baseline's plain gflops / gflops
  flop_speedup_realised: number; // speedup / flop_speedup
  same_samples: boolean; // its timed samples equal this build's bit for bit
}

export interface SweepPoint {
  nfe: number;
  factor: number;
  fd: number | null;
  accuracy: number | null;
}

export interface AccelBenchResult {
  model: string;
  sampler: string;
  steps: number;
  n: number;
  timing_n: number;
  repeats: number;
  fd_floor: number | null; // FD between two real sets of n: what no method can go below
  rows: AccelBenchRow[];
  sweep: SweepPoint[];
  baseline?: string; // the baseline build's folder, when one was timed
  machine: { cpu: string; cores: number; platform: string; node: string; load_average: number; hasten_ort_spin: string | null };
}

/** 'plain', or 'METHOD SPEC' parts joined by '+' (Skip-Tuning with one caching method), as describeAccel writes them. */
export function parseBenchConfig(text: string): AccelConfig {
  if (text.trim() === 'plain') return {};
  const flags: AccelFlags = {};
  for (const part of text.split('+')) {
    const [method = '', ...spec] = part.trim().split(/\s+/);
    if (!Object.hasOwn(ACCEL_FLAG_HELP, method)) throw new AccelSettingError(`config '${text}': unknown method '${method}' (methods: plain, ${Object.keys(ACCEL_FLAG_HELP).join(', ')})`);
    const name = method as keyof AccelFlags;
    if (flags[name] !== undefined) throw new AccelSettingError(`config '${text}': ${method} is given twice`);
    flags[name] = spec.join(' ');
  }
  return parseAccelFlags(flags);
}

const methodOf = (config: AccelConfig): AccelMethod => config.caching?.method ?? (config.skipTuning ? 'skip-tuning' : 'plain');

const constantFactor = (factor: number): SkipTuning => ({ inner: factor, outer: factor, time: 'constant' });

function rms(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum / a.length);
}

export function machine(): AccelBenchResult['machine'] {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), platform: `${platform()}-${arch()}`, node: process.version, load_average: loadavg()[0]!, hasten_ort_spin: process.env.HASTEN_ORT_SPIN ?? null };
}

/** One point of the Skip-Tuning sweep: sampler steps and a constant factor. */
export interface SweepGridPoint {
  steps: number;
  factor: number;
}

/** The sweep's points, steps-major: the order of AccelBenchResult.sweep. */
export const sweepGrid = (steps: number[], factors: number[]): SweepGridPoint[] => steps.flatMap((st) => factors.map((factor) => ({ steps: st, factor })));

/** Computes sweep points elsewhere (in shards on workers): the same points skipTuningSweepPoint gives, in grid order. */
export type SweepRunner = (points: SweepGridPoint[]) => Promise<SweepPoint[]>;

/** A Skip-Tuning network for skipTuningSweepPoint: the factor is a graph input, so no point of a sweep recompiles. */
export const skipTuningSweepNetwork = (target: SamplingTarget): SamplingNetwork => target.network({ skipTuning: constantFactor(1) });

/** FD, class accuracy and the FD floor of generated samples; null without a trained model and its feature network. */
async function scoreResult(model: TrainedModel | SamplingTarget, featureNet: FeatureNet | undefined, result: GenerateResult, seed: number): Promise<{ fd: number | null; accuracy: number | null; fd_floor: number | null }> {
  if (!featureNet || !('params' in model)) return { fd: null, accuracy: null, fd_floor: null };
  const scores = (await scoreSamples(model, result.images, result.labels, seed, featureNet)) as ImageEvaluation;
  return { fd: scores.fd, accuracy: scores.accuracy ?? null, fd_floor: scores.fd_floor };
}

/** FD and class accuracy of n samples at one sweep point. */
export async function skipTuningSweepPoint(model: TrainedModel | SamplingTarget, network: SamplingNetwork, featureNet: FeatureNet | undefined, run: { sampler: string; seed: number; n: number; batch: number }, point: SweepGridPoint): Promise<SweepPoint> {
  network.skipTuning = constantFactor(point.factor);
  const result = await generate(model, { ...run, steps: point.steps, network });
  const { fd, accuracy } = await scoreResult(model, featureNet, result, run.seed);
  return { nfe: result.nfe, factor: point.factor, fd, accuracy };
}

/** The baseline build's side of the timed runs: its own model code and networks, this build's weights. */
interface BaselineSide {
  networks: SamplingNetwork[];
  time(i: number): Promise<{ wallS: number; gflops: number; images: Float32Array }>;
}

async function baselineSide(root: string, trained: TrainedModel, configs: AccelConfig[], run: { sampler: string; steps: number; seed: number }, timingN: number): Promise<BaselineSide> {
  const [{ createModel }, { generate: otherGenerate, trainedTarget: otherTarget }, { parseBenchConfig: otherParse }] = await Promise.all(
    ['models/registry.js', 'pipeline/generate.js', 'bench/accel.js'].map((path) => loadBuildModule(root, path)),
  );
  // The weights are plain data; the model is built by the baseline's own code from the same config.
  const other = { ...trained, model: createModel(trained.config.model) };
  const target = otherTarget(other, timingN);
  const networks: SamplingNetwork[] = configs.map((config) => target.network(otherParse(describeAccel(config))));
  return {
    networks,
    async time(i) {
      const network = networks[i]!;
      const before = network.flops;
      const { wallS, images } = await otherGenerate(other, { ...run, n: timingN, batch: timingN, network });
      return { wallS, gflops: (network.flops - before) / timingN / 1e9, images: images.data };
    },
  };
}

const sameBits = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * `model`: a trained hasten model, or any sampling target (an imported graph), whose rows have no FD or accuracy.
 * `runSweep`, where given, computes the Skip-Tuning sweep (sharded on workers); the timed rows stay in this process.
 */
export async function runAccelBench(model: TrainedModel | SamplingTarget, settings: Partial<AccelBenchSettings> = {}, onProgress: (message: string) => void = () => undefined, runSweep?: SweepRunner): Promise<AccelBenchResult> {
  const s = { ...ACCEL_BENCH_DEFAULTS, ...settings };
  if (s.baseline !== undefined && !('params' in model)) throw new AccelSettingError(`a baseline build times hasten models; '${model.name}' is an imported model`);
  const host = machine(); // before the bench loads the cores itself
  const sampler = getSampler(s.sampler);
  const configs: AccelConfig[] = [{}, ...s.configs.filter((c) => !isPlain(c))];
  const sweepSteps = [...new Set(s.sweepNfe.map((nfe) => stepsForNfe(sampler, nfe)))];
  // Built before any long work, so that a setting that does not fit the model fails at once.
  const trained = 'params' in model ? model : undefined;
  const target = trained ? trainedTarget(trained, s.n) : model as SamplingTarget;
  const networks = configs.map((config) => target.network(config));
  const sweepNetwork = sweepSteps.length > 0 && !runSweep ? skipTuningSweepNetwork(target) : undefined;
  const featureNet = trained && shippedFeatureNetDir(openDataset(trained.config.data, { resolution: trained.config.resolution })) ? await openFeatureNet(trained) : undefined;
  if (!featureNet) onProgress(trained ? `no feature network fits ${trained.config.data} at ${trained.config.dataShape.join('x')}: FD and accuracy are null` : `${target.name} has no dataset to compare with: FD and accuracy are null`);
  const run = { sampler: s.sampler, steps: s.steps, seed: s.seed };
  let baseline: BaselineSide | undefined;

  try {
    if (s.baseline !== undefined) baseline = await baselineSide(s.baseline, trained!, configs, run, s.timingN);
    const times = networks.map(() => [] as number[]);
    const baselineTimes = networks.map(() => [] as number[]);
    const baselineGflops = networks.map(() => 0);
    const same = networks.map(() => true);
    for (let round = 0; round <= s.repeats; round++) {
      onProgress(round === 0 ? `warming up ${networks.length} configs` : `timing round ${round}/${s.repeats}`);
      for (const [i, network] of networks.entries()) {
        const ours = () => generate(model, { ...run, n: s.timingN, batch: s.timingN, network });
        if (!baseline) {
          const { wallS } = await ours();
          if (round > 0) times[i]!.push(wallS);
          continue;
        }
        // Alternating which build goes first, so that neither always runs on the other's warm caches.
        const first = (round + i) % 2 === 0;
        const theirs = first ? await baseline.time(i) : undefined;
        const mine = await ours();
        const other = theirs ?? (await baseline.time(i));
        if (round > 0) {
          times[i]!.push(mine.wallS);
          baselineTimes[i]!.push(other.wallS);
        }
        baselineGflops[i] = other.gflops;
        same[i] = same[i]! && sameBits(mine.images.data, other.images);
      }
    }
    const wallS = times.map(median);
    const baselineWallS = baselineTimes.map((t) => (t.length > 0 ? median(t) : NaN));

    const rows: AccelBenchRow[] = [];
    let plain: { images: Float32Array; gflops: number } | undefined;
    let fdFloor: number | null = null; // the plain row's: every row is scored against the same real sets
    for (const [i, network] of networks.entries()) {
      const config = describeAccel(configs[i]!);
      onProgress(`scoring ${i + 1}/${networks.length}: ${config}`);
      const result = await generate(model, { ...run, n: s.n, batch: s.batch, network });
      await network.dispose(); // its sessions for the scoring batch sizes are not needed again
      const { fd, accuracy, fd_floor } = await scoreResult(model, featureNet, result, s.seed);
      const gflops = result.flops / s.n / 1e9;
      plain ??= { images: result.images.data, gflops };
      if (i === 0) fdFloor = fd_floor;
      const speedup = wallS[0]! / wallS[i]!;
      const flopSpeedup = plain.gflops / gflops;
      const row: AccelBenchRow = {
        method: methodOf(configs[i]!), config, sampler: s.sampler, nfe: result.nfe,
        wall_s: wallS[i]!, speedup, gflops, flop_speedup: flopSpeedup, flop_speedup_realised: speedup / flopSpeedup,
        fd, accuracy, rmse_to_plain: rms(result.images.data, plain.images),
      };
      if (baseline) {
        const otherSpeedup = baselineWallS[0]! / baselineWallS[i]!;
        const otherFlopSpeedup = baselineGflops[0]! / baselineGflops[i]!;
        row.baseline = { wall_s: baselineWallS[i]!, speedup: otherSpeedup, gflops: baselineGflops[i]!, flop_speedup: otherFlopSpeedup, flop_speedup_realised: otherSpeedup / otherFlopSpeedup, same_samples: same[i]! };
      }
      rows.push(row);
    }

    const grid = sweepGrid(sweepSteps, s.sweepFactors);
    let sweep: SweepPoint[] = [];
    if (runSweep && grid.length > 0) {
      onProgress(`Skip-Tuning sweep: ${grid.length} points, sharded`);
      sweep = await runSweep(grid);
    } else {
      for (const point of grid) {
        onProgress(`Skip-Tuning sweep: ${point.steps} steps, factor ${point.factor}`);
        sweep.push(await skipTuningSweepPoint(model, sweepNetwork!, featureNet, { ...run, n: s.n, batch: s.batch }, point));
      }
    }
    return { model: target.name, sampler: s.sampler, steps: s.steps, n: s.n, timing_n: s.timingN, repeats: s.repeats, fd_floor: fdFloor, rows, sweep, ...(s.baseline !== undefined ? { baseline: s.baseline } : {}), machine: host };
  } finally {
    for (const network of networks) await network.dispose();
    for (const network of baseline?.networks ?? []) await network.dispose();
    await sweepNetwork?.dispose();
    await featureNet?.dispose();
  }
}
