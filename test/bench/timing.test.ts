import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, timeInterleaved } from '../../src/bench/timing.js';

test('timing: medians; interleaved runs report wall time and CPU time apart (a wait costs wall time only)', async () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  const order: string[] = [];
  const busy = async (): Promise<void> => {
    order.push('busy');
    const start = process.cpuUsage();
    const used = (): number => { const u = process.cpuUsage(start); return (u.user + u.system) / 1000; };
    while (used() < 20); // 20 ms of work, however long a loaded machine takes to give it
  };
  const wait = async (): Promise<void> => {
    order.push('wait');
    await new Promise((resolve) => setTimeout(resolve, 20)); // 20 ms of waiting
  };
  const { wall, cpu } = await timeInterleaved({ busy, wait }, 3);
  assert.deepEqual(order, ['busy', 'wait', 'busy', 'wait', 'busy', 'wait', 'busy', 'wait'], 'one warm-up each, then round by round');
  assert.ok(wall.busy! >= 19 && wall.wait! >= 19, JSON.stringify(wall));
  assert.ok(cpu.busy! >= 19 && cpu.wait! < 10, JSON.stringify(cpu));
});
