// `--workers N`: shards on a pool of N local worker processes (Tinypool, in its child-process mode:
// each worker has its own ONNX Runtime, and a worker that dies takes no other shard with it). A
// shard whose worker died is run again on a fresh one; a refused shard is not.

import { availableParallelism } from 'node:os';
import Tinypool from 'tinypool';
import { threadsFromEnv } from '../engine/execution-provider.js';
import { InputError } from '../engine/input-error.js';
import type { Executor, ShardEvents } from './executor.js';
import type { PoolProgress } from './pool-worker.js';
import type { ShardTask } from './shard.js';

export interface LocalPoolOptions {
  workers: number;
  threadsPerWorker?: number; // ONNX Runtime threads of each worker; default HASTEN_ORT_THREADS, else the cores shared out
  retries?: number; // runs of a shard after its worker died, before giving up
}

export class LocalPoolExecutor implements Executor {
  readonly description: string;
  private readonly pool: Tinypool;
  private readonly retries: number;

  constructor(options: LocalPoolOptions) {
    const { workers } = options;
    if (!Number.isSafeInteger(workers) || workers < 1) throw new InputError(`--workers expects a positive integer, got ${workers}`);
    const threads = options.threadsPerWorker ?? threadsFromEnv() ?? Math.max(1, Math.floor(availableParallelism() / workers));
    this.retries = options.retries ?? 2;
    this.description = `${workers} local worker${workers > 1 ? 's' : ''}, ${threads} ONNX Runtime thread${threads > 1 ? 's' : ''} each`;
    const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
    this.pool = new Tinypool({
      filename: new URL('./pool-worker.js', import.meta.url).href,
      runtime: 'child_process',
      minThreads: workers,
      maxThreads: workers,
      env: { ...env, HASTEN_ORT_THREADS: String(threads) },
    });
  }

  async run(tasks: ShardTask[], events: ShardEvents): Promise<void> {
    const byFirst = new Map(tasks.map((task) => [task.range.first, task]));
    const channel = {
      postMessage: (message: unknown) => {
        const progress = message as Partial<PoolProgress>;
        const task = progress.hastenShard !== undefined ? byFirst.get(progress.hastenShard) : undefined;
        if (task) events.onItems(task, progress.done ?? 0);
      },
    };
    await Promise.all(tasks.map(async (task) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.pool.run(task, { channel });
          events.onShardDone(task);
          return;
        } catch (error) {
          const message = (error as Error).message;
          if (!/exited unexpectedly/i.test(message) || attempt >= this.retries) throw error;
          events.warn(`worker died on shard ${task.range.first}+${task.range.count}: running it again`);
        }
      }
    }));
  }

  /** Process ids of the pool's workers (for monitoring them, or stopping one). */
  get pids(): number[] {
    return this.pool.threads.map((worker) => worker.threadId);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
