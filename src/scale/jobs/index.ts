// Every job that runs in shards, by name: what a worker looks a shard's job up in.

import type { ShardJob } from '../job.js';
import { bankJob } from './bank.js';
import { evalJob } from './eval.js';
import { gridJob } from './grid.js';
import { pairsJob } from './pairs.js';
import { sweepJob } from './sweep.js';

const JOBS: ShardJob[] = [evalJob, gridJob, pairsJob, sweepJob, bankJob];

export const jobNames = (): string[] => JOBS.map((job) => job.name);

export function getJob(name: string): ShardJob {
  const job = JOBS.find((j) => j.name === name);
  if (!job) throw new Error(`unknown sharded job '${name}' (known: ${jobNames().join(', ')})`);
  return job;
}
