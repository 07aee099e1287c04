// `--queue redis://HOST:PORT`: the submitter's side of the queue. It adds one job per missing shard
// (the shard's address as job id, so adding again is a no-op), follows their progress, and resolves
// when every one is done. The workers are `hasten worker` processes anywhere that reach the queue
// and the results directory.

import { Queue, QueueEvents } from 'bullmq';
import type { Executor, ShardEvents } from './executor.js';
import { QUEUE_NAME, queueConnection, shardJobId } from './queue.js';
import type { ShardTask } from './shard.js';

export interface QueueExecutorOptions {
  url: string;
  queueName?: string;
  pollMs?: number; // how often job states are read (events wake the wait earlier)
  attempts?: number; // runs of a shard whose processor threw, before it fails for good
}

export class QueueExecutor implements Executor {
  readonly description: string;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly pollMs: number;
  private readonly attempts: number;

  constructor(options: QueueExecutorOptions) {
    const connection = queueConnection(options.url);
    const name = options.queueName ?? QUEUE_NAME;
    this.description = `queue ${options.url} (${name})`;
    this.queue = new Queue(name, { connection });
    this.events = new QueueEvents(name, { connection });
    this.pollMs = options.pollMs ?? 500;
    this.attempts = options.attempts ?? 3;
  }

  async run(tasks: ShardTask[], events: ShardEvents): Promise<void> {
    const pending = new Map(tasks.map((task) => [shardJobId(task), task]));
    // A finished job is removed, and a failed one kept for its reason: one left failed by an earlier
    // run is removed now, so that this run tries the shard again.
    for (const id of pending.keys()) {
      const job = await this.queue.getJob(id);
      if (job && (await job.isFailed())) await job.remove();
    }
    let wake: (() => void) | undefined;
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
      const task = pending.get(jobId);
      if (task && typeof data === 'number') events.onItems(task, data);
    };
    const onFinished = () => wake?.();
    this.events.on('progress', onProgress);
    this.events.on('completed', onFinished);
    this.events.on('failed', onFinished);
    try {
      await this.events.waitUntilReady();
      await this.queue.addBulk([...pending].map(([jobId, task]) => ({
        name: task.job,
        data: task,
        opts: { jobId, attempts: this.attempts, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: true, removeOnFail: false },
      })));
      while (pending.size > 0) {
        for (const [id, task] of pending) {
          const state = await this.queue.getJobState(id);
          // Completed jobs are removed at once, so a job no longer there is done; run.ts checks its artefact.
          if (state === 'completed' || state === 'unknown') {
            pending.delete(id);
            events.onShardDone(task);
          } else if (state === 'failed') {
            const job = await this.queue.getJob(id);
            throw new Error(`shard ${task.range.first}+${task.range.count} failed on a worker: ${job?.failedReason ?? 'no reason given'}`);
          }
        }
        if (pending.size > 0) await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, this.pollMs); });
      }
    } finally {
      this.events.off('progress', onProgress);
      this.events.off('completed', onFinished);
      this.events.off('failed', onFinished);
    }
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}
