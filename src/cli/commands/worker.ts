// `hasten worker --queue URL`: computes shards from the queue until stopped (Ctrl-C finishes the shard in hand).

import { defineCommand } from '../command.js';
import { json, num, text } from '../options.js';
import { exitWhenOrphaned } from '../../scale/orphan.js';
import { startQueueWorker } from '../../scale/queue-worker.js';
import { DEFAULT_LOCK_MS, QUEUE_NAME } from '../../scale/queue.js';

export const workerCommand = defineCommand({
  path: ['worker'],
  summary: "compute shards of sharded commands (eval, sample, reflow pairs, gmem bank, bench accel) from a job queue",
  options: {
    queue: text({ placeholder: 'redis://HOST:PORT', required: true, description: 'the BullMQ queue the submitting command was given' }),
    'queue-name': text({ placeholder: 'NAME', default: QUEUE_NAME, description: 'the queue on that Redis' }),
    'lock-s': num({ placeholder: 'S', above: 0, default: DEFAULT_LOCK_MS / 1000, description: "seconds before a dead worker's shard is taken by another" }),
    json: json('print one JSON line per shard: { job, first, count, computed, seconds, error }'),
  },
  details: [
    'Run any number of workers, on any machine that reaches the queue and the results directory of the',
    'submitting command (--results, at the same path), with the same models. Each computes one shard at a',
    'time in a child process; HASTEN_ORT_THREADS=N and taskset pin it, HASTEN_EP picks the device.',
    'Example: taskset -c 0 env HASTEN_ORT_THREADS=1 hasten worker --queue redis://127.0.0.1:6379',
  ].join('\n'),
  async run(values) {
    // Started with an IPC channel (by bench scale, by the tests), it ends with its parent; the channel
    // itself does not keep it running once it has stopped.
    exitWhenOrphaned();
    process.channel?.unref();
    const worker = await startQueueWorker({
      url: values.queue,
      queueName: values['queue-name'],
      lockMs: values['lock-s'] * 1000,
      onShard: ({ task, outcome, error }) => {
        const shard = `${task.job} ${task.range.first}+${task.range.count}`;
        if (values.json) console.log(JSON.stringify({ job: task.job, first: task.range.first, count: task.range.count, computed: outcome?.computed ?? false, seconds: outcome?.seconds ?? null, error: error ?? null }));
        else console.error(error ? `worker: ${shard} failed: ${error}` : `worker: ${shard} ${outcome!.computed ? `computed in ${outcome!.seconds.toFixed(1)} s` : 'was already there'}`);
      },
    });
    console.error(`worker: waiting for shards on ${values.queue} (${values['queue-name']})`);
    const stop = () => { console.error('worker: stopping after the shard in hand'); void worker.close(); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await worker.closed;
  },
});
