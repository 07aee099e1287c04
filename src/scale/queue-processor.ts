// The BullMQ sandboxed processor of `hasten worker`: runs in a child process of the worker, so the
// CPU-heavy shard never stalls the worker's event loop, which keeps renewing the shard's lock.

import { type SandboxedJob, UnrecoverableError } from 'bullmq';
import { ShardRefused, type ShardOutcome, executeShard } from './execute.js';
import { exitWhenOrphaned } from './orphan.js';
import type { ShardTask } from './shard.js';

exitWhenOrphaned();

export default async function processShard(job: SandboxedJob<ShardTask>): Promise<ShardOutcome> {
  try {
    return await executeShard(job.data, (done) => { void job.updateProgress(done); });
  } catch (error) {
    // Retrying a refused shard on this worker cannot help.
    if (error instanceof ShardRefused) throw new UnrecoverableError(error.message);
    throw error;
  }
}
