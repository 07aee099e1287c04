// What hasten adds on top of running an imported ONNX file yourself: the same DDIM sampling loop
// (deterministic, eta = 0, the same timesteps, batch and conditioning) once through hasten's
// generate() and once written directly against onnxruntime-node on the model file, as a user of
// the file would write it. Runs alternate (hasten, direct, hasten, ...) so that load from other
// processes falls on both alike; medians are reported, with the largest difference between the two
// loops' samples, which checks that hasten reads the schedule and feeds the timestep as the file expects.
// With a DeepCache setting a third loop runs in every round: hasten with DeepCache, whose speedup over
// the plain hasten loop of the same round is set against its FLOP speedup, end to end and call by
// call, with the share of each run spent outside network calls (the sampler's host work).

import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { makeGrid, parseGridSpec } from '../diffusion/grids.js';
import { threadsFromEnv } from '../engine/execution-provider.js';
import { RngStream } from '../engine/rng.js';
import { toOrt } from '../engine/runtime.js';
import type { ImportedModel } from '../import/model-folder.js';
import { timestepTensor } from '../import/probe.js';
import { timestepAt } from '../import/schedule.js';
import { IMPORTED_DEFAULT_GRID, type ImportedConditioning, importedTarget } from '../import/target.js';
import { parseAccelFlags } from '../accel/config.js';
import type { ImportedNetwork } from '../import/network.js';
import { generate } from '../pipeline/generate.js';
import { median } from './timing.js';

export interface ImportOverheadSettings {
  steps: number; // DDIM steps
  n: number; // samples, one batch
  repeats: number; // timed runs of each loop after one warm-up each
  seed: number;
  deepcache?: string; // a DeepCache setting (as --deepcache takes it) for a third loop, e.g. 'every=3,branch=0'
}

/** A wall-clock figure and the same in CPU time (all of the process's threads): CPU time is what load from other processes changes least. */
export interface WallAndCpu {
  wall: number;
  cpu: number;
}

/** Where a run's time went: the network calls of each kind (medians, ms), and the rest. */
export interface CallBreakdown {
  full_call_ms: WallAndCpu;
  reuse_call_ms: WallAndCpu | null; // calls reusing cached features
  outside_calls: number; // median share of a run's wall time outside network calls (the sampler's host work)
}

export interface DeepCacheTiming {
  config: string;
  s: WallAndCpu; // medians of one sampling run with DeepCache
  speedup: WallAndCpu; // medians over rounds of plain hasten / DeepCache within the round
  flop_speedup: number; // plain FLOPs / DeepCache FLOPs of one run
  realised: WallAndCpu; // speedup / flop_speedup (the target: wall >= 0.8)
  call_speedup: WallAndCpu; // full call / reuse call
  call_flop_speedup: number; // full-call FLOPs / reuse-call FLOPs
  call_realised: WallAndCpu; // call_speedup / call_flop_speedup
  predicted_speedup: number; // wall, from the per-call medians and the run's calls, as if nothing but calls took time
  rounds: number[]; // each round's wall speedup
  calls: CallBreakdown;
  plain_calls: CallBreakdown; // the plain hasten loop's
}

export interface ImportOverheadResult {
  model: string;
  steps: number;
  n: number;
  repeats: number;
  hasten_s: WallAndCpu; // medians of one sampling run through hasten
  direct_s: WallAndCpu; // the same loop on onnxruntime-node directly
  overhead: number; // hasten_s.wall / direct_s.wall - 1
  paired_overhead: WallAndCpu; // medians over rounds of hasten/direct - 1 within a round: robust to load that drifts between rounds
  max_abs_difference: number; // between the two loops' samples
  max_abs_sample: number; // for scale
  rounds: number[]; // each round's wall hasten/direct - 1
  deepcache?: DeepCacheTiming;
  machine: { cores: number; threads: number; load_average: [number, number]; hasten_ort_spin: string | null }; // ONNX Runtime threads per session; load at the start and the end
}

const cpuSeconds = (): number => {
  const { user, system } = globalThis.process.cpuUsage();
  return (user + system) / 1e6;
};

const medians = (values: { wall: number[]; cpu: number[] }): WallAndCpu => ({ wall: median(values.wall), cpu: median(values.cpu) });
const ratio = (a: WallAndCpu, b: WallAndCpu): WallAndCpu => ({ wall: a.wall / b.wall, cpu: a.cpu / b.cpu });

export async function runImportOverheadBench(imported: ImportedModel, settings: ImportOverheadSettings, conditioning: ImportedConditioning = {}, onProgress: (message: string) => void = () => undefined): Promise<ImportOverheadResult> {
  const { steps, n, repeats, seed } = settings;
  const { signature, schedule } = imported.record;
  if (schedule.prediction !== 'eps') onProgress(`the direct loop converts ${schedule.prediction} predictions as diffusers' DDIM does`);
  const target = importedTarget(imported, n, conditioning);
  const process = imported.process;
  const grid = makeGrid(process, parseGridSpec(IMPORTED_DEFAULT_GRID), steps);
  const perSample = imported.dataShape.reduce((a, b) => a * b, 1);
  const noise = RngStream.fromSeed(seed, 'sample-noise').normal({ start: 0, count: n }, imported.dataShape, new Float64Array(n * perSample));

  // The networks first: a DeepCache setting that cannot work is refused before anything runs (their sessions open on first use).
  const network = target.network({}) as ImportedNetwork;
  const accelerated = settings.deepcache === undefined ? undefined : target.network(parseAccelFlags({ deepcache: settings.deepcache })) as ImportedNetwork;
  const session = await ort.InferenceSession.create(join(imported.location, imported.record.graph), {
    intraOpNumThreads: threadsFromEnv() ?? availableParallelism(), // as hasten's sessions (HASTEN_ORT_THREADS)
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spinsByDefault() ? '1' : '0' } } },
  });
  const cond = Object.entries(target.conditioning(0, n)?.cond ?? {}); // text conditioning and class labels, as hasten feeds them
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
      for (const [name, t] of cond) feeds[name] = toOrt(t);
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
  const sampleWith = (net: ImportedNetwork) => async (): Promise<Float32Array> => (await generate(target, { sampler: 'ddim', steps, n, batch: n, seed, grid: IMPORTED_DEFAULT_GRID, noise, network: net })).images.data;
  const loops: [string, () => Promise<Float32Array>][] = [['hasten', sampleWith(network)], ['direct', direct], ...(accelerated ? [['deepcache', sampleWith(accelerated)] as [string, () => Promise<Float32Array>]] : [])];
  const calls = { hasten: new CallLog(network), deepcache: accelerated && new CallLog(accelerated) };
  const loadAtStart = loadavg()[0]!;
  try {
    const times: Record<string, { wall: number[]; cpu: number[] }> = Object.fromEntries(loops.map(([name]) => [name, { wall: [], cpu: [] }]));
    let samples: Record<string, Float32Array> = {};
    for (let round = 0; round <= repeats; round++) {
      onProgress(round === 0 ? 'warming up' : `round ${round}/${repeats}`);
      for (const [name, run] of loops) {
        const log = name === 'direct' ? undefined : calls[name as 'hasten' | 'deepcache'];
        log?.start(round > 0);
        const [wall0, cpu0] = [performance.now(), cpuSeconds()];
        const result = await run();
        const [wall, cpu] = [(performance.now() - wall0) / 1000, cpuSeconds() - cpu0];
        log?.end(wall);
        if (round > 0) {
          times[name]!.wall.push(wall);
          times[name]!.cpu.push(cpu);
        }
        samples = { ...samples, [name]: result };
      }
    }
    const perRound = (a: string, b: string, f: (x: number, y: number) => number) => ({
      wall: times[a]!.wall.map((x, i) => f(x, times[b]!.wall[i]!)),
      cpu: times[a]!.cpu.map((x, i) => f(x, times[b]!.cpu[i]!)),
    });
    const maxAbsDifference = samples.hasten!.reduce((m, v, i) => Math.max(m, Math.abs(v - samples.direct![i]!)), 0);
    const hastenS = medians(times.hasten!);
    const directS = medians(times.direct!);
    const overheads = perRound('hasten', 'direct', (h, d) => h / d - 1);
    let deepcache: DeepCacheTiming | undefined;
    if (accelerated && calls.deepcache) {
      // FLOPs of one run of each: the networks count every call, and both ran the same runs.
      const flopSpeedup = network.flops / accelerated.flops;
      const speedups = perRound('hasten', 'deepcache', (h, d) => h / d);
      const speedup = medians(speedups);
      const breakdown = calls.deepcache.breakdown();
      const plainCalls = calls.hasten.breakdown();
      const analysis = imported.record.analysis!;
      const branch = accelerated.caching?.method === 'deepcache' ? accelerated.caching.branch : 0;
      const callFlopSpeedup = analysis.flops.total / analysis.cut_flops.deepcache[branch]!;
      const callSpeedup = ratio(breakdown.full_call_ms, breakdown.reuse_call_ms!);
      const { full, reuse } = calls.deepcache.callsPerRun(repeats + 1);
      deepcache = {
        config: settings.deepcache!, s: medians(times.deepcache!), speedup, flop_speedup: flopSpeedup,
        realised: { wall: speedup.wall / flopSpeedup, cpu: speedup.cpu / flopSpeedup },
        call_speedup: callSpeedup, call_flop_speedup: callFlopSpeedup,
        call_realised: { wall: callSpeedup.wall / callFlopSpeedup, cpu: callSpeedup.cpu / callFlopSpeedup },
        predicted_speedup: ((full + reuse) * plainCalls.full_call_ms.wall) / (full * breakdown.full_call_ms.wall + reuse * breakdown.reuse_call_ms!.wall),
        rounds: speedups.wall, calls: breakdown, plain_calls: plainCalls,
      };
    }
    return {
      model: imported.name, steps, n, repeats, hasten_s: hastenS, direct_s: directS, overhead: hastenS.wall / directS.wall - 1,
      paired_overhead: medians(overheads),
      max_abs_difference: maxAbsDifference, max_abs_sample: samples.direct!.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
      rounds: overheads.wall, ...(deepcache ? { deepcache } : {}),
      machine: { cores: availableParallelism(), threads: threadsFromEnv() ?? availableParallelism(), load_average: [loadAtStart, loadavg()[0]!], hasten_ort_spin: globalThis.process.env.HASTEN_ORT_SPIN ?? null },
    };
  } finally {
    await network.dispose();
    await accelerated?.dispose();
    await session.release();
  }
}

/** The calls of a network's timed runs: wall and CPU time by kind, and each run's share outside calls. */
class CallLog {
  private readonly times = { full: { wall: [] as number[], cpu: [] as number[] }, reuse: { wall: [] as number[], cpu: [] as number[] } };
  private readonly outside: number[] = [];
  private readonly counts = { full: 0, reuse: 0 };
  private timed = false;
  private inCalls = 0;

  constructor(network: ImportedNetwork) {
    network.onCall = ({ reuse, seconds, cpuSeconds: cpu }) => {
      const kind = reuse ? 'reuse' : 'full';
      this.counts[kind]++;
      if (!this.timed) return;
      this.times[kind].wall.push(1000 * seconds);
      this.times[kind].cpu.push(1000 * cpu);
      this.inCalls += seconds;
    };
  }

  start(timed: boolean): void {
    this.timed = timed;
    this.inCalls = 0;
  }

  end(runSeconds: number): void {
    if (this.timed) this.outside.push(1 - this.inCalls / runSeconds);
  }

  /** Calls of each kind in one run, from the counts over `runs` runs. */
  callsPerRun(runs: number): { full: number; reuse: number } {
    return { full: this.counts.full / runs, reuse: this.counts.reuse / runs };
  }

  breakdown(): CallBreakdown {
    return {
      full_call_ms: medians(this.times.full),
      reuse_call_ms: this.times.reuse.wall.length > 0 ? medians(this.times.reuse) : null,
      outside_calls: median(this.outside),
    };
  }
}

/** The spinning choice hasten's own sessions make, so both loops run their threads alike. */
function spinsByDefault(): boolean {
  return globalThis.process.env.HASTEN_ORT_SPIN !== '0';
}
