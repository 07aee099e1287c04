// The options every command that runs in shards shares (--workers, --queue, --results, --shard-size),
// and running such a command's job with one progress bar across all its workers.

import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { AccelConfig } from '../accel/config.js';
import { shippedModelsDir } from '../paths.js';
import type { GenerateOptions } from '../pipeline/generate.js';
import type { TrainedModel } from '../pipeline/model-store.js';
import { DEFAULT_SAMPLE_SHARD_SIZE, type SamplingSettings } from '../scale/jobs/sampling.js';
import type { Executor } from '../scale/executor.js';
import { getJob } from '../scale/jobs/index.js';
import { LocalPoolExecutor } from '../scale/local-pool.js';
import { QueueExecutor } from '../scale/queue-executor.js';
import { type ShardedRunReport, runSharded } from '../scale/run.js';
import { int, text, UsageError } from './options.js';
import { Progress } from './progress.js';

export const DEFAULT_RESULTS = 'runs/shards';

/** The model as every worker can find it: a shipped model by name, anything else by absolute path. */
export function portableModel(given: string, trained: TrainedModel): string {
  return resolve(trained.location).startsWith(resolve(shippedModelsDir())) ? given : resolve(given);
}

/** --shard-size, or the default rounded up to whole batches. */
export const shardSizeFor = (given: number | undefined, batch: number, fallback = DEFAULT_SAMPLE_SHARD_SIZE): number => given ?? Math.ceil(fallback / batch) * batch;

/** The sampling jobs' settings from generate()'s options (as the shared sampling flags give them). */
export function samplingSettings(model: string, options: GenerateOptions & { accel: AccelConfig }, classes: number[] | undefined, shardSize: number | undefined): SamplingSettings {
  const { sampler, samplerSettings, steps, grid, n, seed, batch = 64, guidance = 1, guidanceInterval, accel } = options;
  return { model, sampler, samplerSettings, steps, grid, n, seed, batch, guidance, guidanceInterval, classes, accel, shardSize: shardSizeFor(shardSize, Math.min(batch, n)) };
}

export const scaleOptions = {
  workers: int({ placeholder: 'N', min: 1, default: 1, description: `local worker processes, one shard each at a time (this machine has ${availableParallelism()} cores); 1: this process alone` }),
  queue: text({ placeholder: 'redis://HOST:PORT', description: "put the shards on this BullMQ queue for 'hasten worker' processes (instead of --workers)" }),
  'queue-name': text({ placeholder: 'NAME', default: 'hasten-shards', description: 'the queue on that Redis' }),
  results: text({ placeholder: 'DIR', default: DEFAULT_RESULTS, description: 'shard artefacts, shared by every worker; a finished shard found there is not computed again' }),
};

/** --shard-size for the sampling commands. */
export const sampleShardSize = int({ placeholder: 'N', min: 1, description: `samples per shard with --workers or --queue, a multiple of --batch (default: ${DEFAULT_SAMPLE_SHARD_SIZE} rounded up to whole batches)` });

interface ScaleValues {
  workers: number;
  queue?: string;
  'queue-name': string;
  results: string;
}

/** A setting that does not travel to workers yet: one clear error instead of a silently different run. */
export function unshardable(flag: string | false): void {
  if (flag) throw new UsageError(`${flag} does not run in shards yet: drop --workers and --queue`);
}

/** Whether the command runs in shards at all: more than one worker, or a queue. */
export const isSharded = (values: ScaleValues): boolean => values.workers > 1 || values.queue !== undefined;

export function executorFor(values: ScaleValues): Executor | undefined {
  if (values.queue !== undefined && values.workers > 1) throw new UsageError('--workers and --queue are two ways to run shards: give one');
  if (values.queue !== undefined) return new QueueExecutor({ url: values.queue, queueName: values['queue-name'] });
  return values.workers > 1 ? new LocalPoolExecutor({ workers: values.workers }) : undefined;
}

/** Runs a sharded job with one progress bar across its workers (none with --json). */
export async function runShardedCommand<Result>(jobName: string, settings: unknown, values: ScaleValues & { json?: boolean }, label: string): Promise<ShardedRunReport<Result>> {
  const executor = executorFor(values)!;
  let progress: Progress | undefined;
  try {
    return await runSharded<Result>(jobName, settings, {
      results: values.results,
      executor,
      onProgress: (done, total) => {
        if (values.json) return;
        progress ??= new Progress({ label: `${label} (${executor.description})`, total, unit: getJob(jobName).unit });
        progress.update(done);
      },
      warn: (message) => console.error(`${label}: ${message}`),
    });
  } finally {
    progress?.finish();
    await executor.close();
  }
}
