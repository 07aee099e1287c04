// `hasten bench scale`: the eval rate of one sharded evaluation run different ways on this machine,
// side by side and interleaved (every mode once per round, so load from other processes falls on all
// of them alike), with medians over rounds:
//
//   in-process   one process, ONNX Runtime on all cores (what `hasten eval` does)
//   local-N      a local pool of N worker processes, one ONNX Runtime thread each
//   queue-N      N `hasten worker` processes on the queue, each pinned to one core (taskset) with one thread
//
// The rate is images per second until every shard is in (the merge, which scores against real data,
// is left out: it is the same for every mode). The queue's overhead is what a one-worker queue run
// takes beyond the shards' own compute seconds (recorded in each artefact), per shard.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from '../bench/timing.js';
import { decodeSafetensors } from '../engine/safetensors.js';
import { type Executor, InProcessExecutor } from './executor.js';
import type { SamplingSettings } from './jobs/sampling.js';
import { LocalPoolExecutor } from './local-pool.js';
import { QueueExecutor } from './queue-executor.js';
import { runSharded } from './run.js';

export interface ScaleBenchSettings {
  eval: SamplingSettings; // the evaluation every mode runs
  rounds: number; // timed rounds after one warm-up round
  localWorkers: number[]; // pool sizes to time, e.g. [1, 2]
  queueWorkers: number[]; // queue worker counts to time, e.g. [1, 2]; needs queueUrl
  queueUrl?: string;
  workerCommand?: string[]; // how to start `hasten worker` (argv before its options)
  pin: boolean; // taskset each queue worker to its own core
  defaultShardSize: number; // the overhead is also given as a share of a shard this size
}

export interface ScaleModeResult {
  mode: string;
  rates: number[]; // images per second, one per timed round
  rate: number; // their median
  speedup: number; // rate / the in-process rate
  scaling: number; // rate / the rate of the same executor with one worker (local-1, queue-1)
  overhead_s_per_shard?: number; // queue runs with one worker: median seconds per shard beyond its compute
  compute_s_per_shard?: number; // median compute seconds of a shard in those runs
  overhead_share_default_shard?: number; // overhead / the compute seconds of a default-size shard (scaled from the measured shards)
}

export interface ScaleBenchResult {
  settings: ScaleBenchSettings;
  modes: ScaleModeResult[];
  machine: { cpu: string; cores: number; load_average_before: number; load_average_after: number };
}

interface Mode {
  name: string;
  executor: Executor;
  workers?: ChildProcess[];
}

function startWorkers(settings: ScaleBenchSettings, count: number, queueName: string): ChildProcess[] {
  const command = settings.workerCommand!;
  return Array.from({ length: count }, (_, i) => {
    const argv = [...command, '--queue', settings.queueUrl!, '--queue-name', queueName];
    const [program, args] = settings.pin ? ['taskset', ['-c', String(i % availableParallelism()), ...argv]] : [argv[0]!, argv.slice(1)];
    return spawn(program, args, { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: { ...process.env, HASTEN_ORT_THREADS: '1' } }); // ipc: they end with the bench
  });
}

/** Compute seconds of every artefact a run wrote. */
function computeSeconds(results: string): number[] {
  return readdirSync(results).flatMap((folder) => readdirSync(join(results, folder)).filter((f) => f.endsWith('.safetensors')).map((f) => {
    const path = join(results, folder, f);
    return Number(decodeSafetensors(readFileSync(path), path).metadata.compute_s);
  }));
}

export async function runScaleBench(settings: ScaleBenchSettings, onProgress: (message: string) => void = () => undefined): Promise<ScaleBenchResult> {
  if (settings.queueWorkers.length > 0 && (!settings.queueUrl || !settings.workerCommand)) throw new Error('queue modes need a queue URL (--queue redis://HOST:PORT)');
  const loadBefore = loadavg()[0]!;
  const modes: Mode[] = [{ name: 'in-process', executor: new InProcessExecutor() }];
  for (const workers of settings.localWorkers) modes.push({ name: `local-${workers}`, executor: new LocalPoolExecutor({ workers, threadsPerWorker: 1 }) });
  for (const workers of settings.queueWorkers) {
    const queueName = `hasten-bench-scale-${process.pid}-${workers}`;
    modes.push({ name: `queue-${workers}`, executor: new QueueExecutor({ url: settings.queueUrl!, queueName, pollMs: 50 }), workers: startWorkers(settings, workers, queueName) });
  }
  const scratch = mkdtempSync(join(tmpdir(), 'hasten-bench-scale-'));
  const rates = modes.map(() => [] as number[]);
  const overheads = modes.map(() => [] as number[]);
  const computes = modes.map(() => [] as number[]);
  try {
    for (let round = 0; round <= settings.rounds; round++) {
      for (const [i, mode] of modes.entries()) {
        onProgress(`${round === 0 ? 'warm-up' : `round ${round}/${settings.rounds}`}: ${mode.name}`);
        const results = join(scratch, `${mode.name}-${round}`);
        const report = await runSharded<{ wall_s: number }>('eval', settings.eval, { results, executor: mode.executor });
        if (round === 0) continue;
        const shardsWall = report.result.wall_s; // until every shard was in, without the merge
        rates[i]!.push(settings.eval.n / shardsWall);
        if (mode.name === 'queue-1') {
          const seconds = computeSeconds(results);
          overheads[i]!.push((shardsWall - seconds.reduce((a, b) => a + b, 0)) / seconds.length);
          computes[i]!.push(median(seconds));
        }
        rmSync(results, { recursive: true, force: true });
      }
    }
  } finally {
    for (const mode of modes) {
      await mode.executor.close();
      for (const worker of mode.workers ?? []) worker.kill('SIGTERM');
    }
    rmSync(scratch, { recursive: true, force: true });
  }
  const base = median(rates[0]!);
  const rateOf = (name: string) => median(rates[modes.findIndex((m) => m.name === name)] ?? []);
  return {
    settings,
    modes: modes.map((mode, i) => ({
      mode: mode.name, rates: rates[i]!, rate: median(rates[i]!), speedup: median(rates[i]!) / base,
      scaling: median(rates[i]!) / rateOf(mode.name.replace(/-\d+$/, '-1')),
      ...(overheads[i]!.length > 0 && {
        overhead_s_per_shard: median(overheads[i]!),
        compute_s_per_shard: median(computes[i]!),
        overhead_share_default_shard: median(overheads[i]!) / ((median(computes[i]!) * settings.defaultShardSize) / settings.eval.shardSize),
      }),
    })),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), load_average_before: loadBefore, load_average_after: loadavg()[0]! },
  };
}
