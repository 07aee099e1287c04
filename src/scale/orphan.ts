// A process whose parent died (SIGKILLed, say) must not go on computing for nobody: a shard process
// of a worker or of a local pool, or a `hasten worker` started by a parent with an IPC channel (bench
// scale, the tests). A watchdog thread compares the parent's pid with the one the child started under: the child's own
// event loop may be held for minutes by one synchronous stretch of a shard, so a 'disconnect' event
// would reach it only afterwards. An orphan ends at once with SIGKILL: nothing is lost (artefacts are
// written atomically and the shard runs again elsewhere), and no exit handler can hang on a session
// still running on another thread.

import { Worker } from 'node:worker_threads';

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setInterval(() => { if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL'); }, workerData.everyMs);
`;

export function exitWhenOrphaned(everyMs = 250): void {
  if (!process.send) return; // not a child process with a channel to its parent
  if (!process.connected) process.kill(process.pid, 'SIGKILL'); // the parent died before this module was loaded
  new Worker(WATCHDOG, { eval: true, workerData: { parent: process.ppid, everyMs } }).unref();
}
