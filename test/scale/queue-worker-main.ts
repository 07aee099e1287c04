// A queue worker process for the tests: `node queue-worker-main.js URL LOCK_MS`; one JSON line per shard.
import { startQueueWorker } from '../../src/scale/queue-worker.js';

const [url, lockMs] = process.argv.slice(2);
const worker = await startQueueWorker({
  url: url!,
  lockMs: Number(lockMs),
  onShard: ({ task, outcome, error }) => console.log(JSON.stringify({ first: task.range.first, computed: outcome?.computed ?? null, error: error ?? null })),
});
console.log(JSON.stringify({ ready: true }));
process.on('SIGTERM', () => { void worker.close().then(() => process.exit(0)); });
