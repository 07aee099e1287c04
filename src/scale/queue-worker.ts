// `hasten worker --queue URL`: takes shards from the queue one at a time and computes each in a
// sandboxed child process. Run any number, on any machine that reaches the queue and the results
// directory. A worker killed mid-shard loses nothing: its lock expires and another worker takes the
// shard from the start; what it wrote, it wrote atomically at the shard's address.

import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { DEFAULT_LOCK_MS, QUEUE_NAME, queueConnection } from './queue.js';
import type { ShardOutcome } from './execute.js';
import type { ShardTask } from './shard.js';

export interface QueueWorkerOptions {
  url: string;
  queueName?: string;
  lockMs?: number; // lock on a shard, renewed while it runs; a dead worker's shard is taken again after it
  onShard?: (event: { task: ShardTask; outcome?: ShardOutcome; error?: string }) => void;
}

export interface QueueWorker {
  close(): Promise<void>;
  closed: Promise<void>;
}

export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const lockDuration = options.lockMs ?? DEFAULT_LOCK_MS;
  const worker = new Worker<ShardTask, ShardOutcome>(options.queueName ?? QUEUE_NAME, fileURLToPath(new URL('./queue-processor.js', import.meta.url)), {
    connection: queueConnection(options.url),
    concurrency: 1, // one shard at a time: each uses all the ONNX Runtime threads it is given
    lockDuration,
    stalledInterval: lockDuration, // how often this worker looks for shards whose worker died
    maxStalledCount: 5, // a shard whose worker dies this many times fails
    useWorkerThreads: false,
  });
  worker.on('completed', (job, outcome) => options.onShard?.({ task: job.data, outcome }));
  worker.on('failed', (job, error) => { if (job) options.onShard?.({ task: job.data, error: error.message }); });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => { resolveClosed = resolve; });
  worker.on('closed', () => resolveClosed());
  await worker.waitUntilReady();
  return { close: () => worker.close(), closed };
}
