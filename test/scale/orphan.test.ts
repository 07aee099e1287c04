import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isRunning, seesProcesses, waitUntilGone } from './processes.js';

const here = fileURLToPath(new URL('.', import.meta.url));

test('a child whose parent is SIGKILLed exits within seconds, even with its event loop held by synchronous work', { skip: !seesProcesses && 'needs /proc' }, async () => {
  const parent = spawn(process.execPath, [join(here, 'orphan-main.js'), 'parent'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const child = await new Promise<number>((resolve, reject) => {
    parent.once('exit', (code) => reject(new Error(`the parent exited with ${code}`)));
    parent.stdout!.once('data', (data) => resolve(Number(String(data).trim())));
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // well inside the busy loop
    assert.ok(isRunning(child));
    parent.kill('SIGKILL');
    await waitUntilGone([child], 3000);
  } finally {
    if (isRunning(child)) process.kill(child, 'SIGKILL');
  }
});
