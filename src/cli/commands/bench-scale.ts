// `hasten bench scale`: how much faster an evaluation runs on local workers and on pinned queue workers
// than in one process, and what the queue costs per shard.

import { defineCommand } from '../command.js';
import { flag, int, json, list, text } from '../options.js';
import { modelName, samplerName } from '../sampling.js';
import { DEFAULT_SAMPLE_SHARD_SIZE } from '../../scale/jobs/sampling.js';
import { runScaleBench } from '../../scale/speedup.js';

export const benchScaleCommand = defineCommand({
  path: ['bench', 'scale'],
  summary: 'eval rate in one process, on N local workers and on N pinned queue workers; queue overhead per shard',
  options: {
    model: modelName('model', { default: 'shapes', description: 'the model evaluated' }),
    sampler: samplerName('sampler', 'heun'),
    steps: int({ placeholder: 'N', min: 1, default: 18, description: 'sampler steps' }),
    n: int({ placeholder: 'N', min: 2, default: 64, description: 'samples per timed evaluation' }),
    batch: int({ placeholder: 'B', min: 1, default: 8, description: 'samples per network call' }),
    'shard-size': int({ placeholder: 'N', min: 1, default: 16, description: 'samples per shard (a multiple of --batch)' }),
    rounds: int({ placeholder: 'R', min: 1, default: 3, description: 'timed rounds after a warm-up round, every mode once per round' }),
    'local-workers': list('int', { placeholder: 'N,N', min: 1, default: [1, 2], description: 'local pool sizes to time' }),
    'queue-workers': list('int', { placeholder: 'N,N', min: 1, default: [1, 2], description: "numbers of 'hasten worker' processes to time (needs --queue)" }),
    queue: text({ placeholder: 'redis://HOST:PORT', description: 'a Redis for the queue modes (without it they are left out)' }),
    'no-pin': flag({ description: 'do not pin each queue worker to its own core with taskset' }),
    json: json(),
  },
  details: 'Workers run one ONNX Runtime thread each. Example: redis-server --port 6390 --save "" & hasten bench scale --queue redis://127.0.0.1:6390 --json',
  async run(values) {
    const queueWorkers = values.queue === undefined ? [] : values['queue-workers'];
    const result = await runScaleBench({
      eval: { model: values.model, sampler: values.sampler, steps: values.steps, n: values.n, seed: 0, batch: values.batch, guidance: 1, shardSize: values['shard-size'] },
      rounds: values.rounds,
      localWorkers: values['local-workers'],
      queueWorkers,
      queueUrl: values.queue,
      workerCommand: [process.execPath, process.argv[1]!, 'worker'],
      pin: !values['no-pin'],
      defaultShardSize: DEFAULT_SAMPLE_SHARD_SIZE,
    }, (message) => { if (!values.json) console.error(`bench scale: ${message}`); });
    if (values.json) {
      console.log(JSON.stringify(result));
      return;
    }
    console.log('| mode | images/s (median) | vs in-process | vs one worker | rounds |');
    console.log('|---|---:|---:|---:|---|');
    for (const m of result.modes) console.log(`| ${m.mode} | ${m.rate.toFixed(3)} | ${m.speedup.toFixed(2)}x | ${m.scaling.toFixed(2)}x | ${m.rates.map((r) => r.toFixed(3)).join(', ')} |`);
    const queue = result.modes.find((m) => m.overhead_s_per_shard !== undefined);
    if (queue) console.log(`\nqueue overhead: ${queue.overhead_s_per_shard!.toFixed(3)} s per shard, ${(100 * queue.overhead_share_default_shard!).toFixed(2)}% of a ${DEFAULT_SAMPLE_SHARD_SIZE}-sample shard (${queue.compute_s_per_shard!.toFixed(2)} s per ${values['shard-size']}-sample shard measured)`);
  },
});
