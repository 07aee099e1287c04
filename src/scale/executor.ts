// Where shards run. An executor takes the shards still missing and resolves once every one of them
// has its artefact written; the submitting run (run.ts) verifies and merges them.

import { executeShard } from './execute.js';
import type { ShardTask } from './shard.js';

export interface ShardEvents {
  onItems(task: ShardTask, done: number): void; // items of this shard done so far
  onShardDone(task: ShardTask): void;
  warn(message: string): void;
}

export interface Executor {
  description: string; // for logs: 'in process', '4 local workers', 'queue redis://...'
  run(tasks: ShardTask[], events: ShardEvents): Promise<void>;
  close(): Promise<void>;
}

/** Shards one after another in this process: what --workers 1 means. */
export class InProcessExecutor implements Executor {
  readonly description = 'in process';

  async run(tasks: ShardTask[], events: ShardEvents): Promise<void> {
    for (const task of tasks) {
      await executeShard(task, (done) => events.onItems(task, done));
      events.onShardDone(task);
    }
  }

  async close(): Promise<void> {}
}
