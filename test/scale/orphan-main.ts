// `node orphan-main.js parent`: forks itself as a child that calls exitWhenOrphaned and then holds
// its event loop in a busy loop (a long synchronous stretch of a shard), and prints the child's pid.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitWhenOrphaned } from '../../src/scale/orphan.js';

if (process.argv[2] === 'parent') {
  const child = fork(fileURLToPath(import.meta.url), ['child'], { stdio: 'inherit' });
  child.on('message', () => console.log(child.pid));
} else {
  exitWhenOrphaned();
  process.send!('busy', () => {
    for (;;); // the event loop never turns again
  });
}
