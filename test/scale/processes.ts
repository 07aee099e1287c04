// Processes as Linux's /proc shows them, for the tests of what a killed worker leaves behind.

import { existsSync, readFileSync, readdirSync } from 'node:fs';

/** Whether this system has /proc to read (Linux); elsewhere the process checks are left out. */
export const seesProcesses = existsSync('/proc/self/stat');

/** State and parent of a process from /proc/PID/stat; undefined once it is gone. */
function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Whether the process still runs (an exited one waiting to be reaped does not). */
export const isRunning = (pid: number): boolean => { const s = stat(pid); return s !== undefined && s.state !== 'Z' && s.state !== 'X'; };

/** The pids of a process's children. */
export const childrenOf = (pid: number): number[] => readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number).filter((child) => stat(child)?.ppid === pid);

/** Resolves once none of the processes runs; rejects naming those still running after `timeoutMs`. */
export async function waitUntilGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = pids.filter(isRunning);
    if (running.length === 0) return;
    if (Date.now() > deadline) throw new Error(`still running ${timeoutMs} ms after their parent was killed: ${running.map((pid) => `${pid} (${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()})`).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
