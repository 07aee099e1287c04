// A local pool's worker process (see local-pool.ts): computes the shards it is handed, reporting
// items done to the pool over the process channel.

import { executeShard, type ShardOutcome } from './execute.js';
import { exitWhenOrphaned } from './orphan.js';
import type { ShardTask } from './shard.js';

export interface PoolProgress {
  hastenShard: number; // the shard's first item
  done: number;
}

exitWhenOrphaned();

export default async function runShardTask(task: ShardTask): Promise<ShardOutcome> {
  return executeShard(task, (done) => process.send?.({ hastenShard: task.range.first, done } satisfies PoolProgress));
}
