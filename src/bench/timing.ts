// Timing helpers shared by the benchmarks. Machines are shared and noisy, so benchmarks report
// medians over repeats after a warm-up, never a single run.

export interface TimingOptions {
  warmup?: number; // untimed runs first (compilation, caches, thread pools)
  repeats?: number; // timed runs; the median is reported
  budgetS?: number; // stop repeating once this much time has been spent (at least one timed run)
}

export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function timeIt(run: () => Promise<unknown>, { warmup = 1, repeats = 7, budgetS = 60 }: TimingOptions = {}): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < repeats && (times.length === 0 || performance.now() - start < budgetS * 1000)) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), minMs: Math.min(...times), runs: times.length };
}

/** GFLOP/s from a FLOP count and a time in milliseconds. */
export const gflops = (flops: number, ms: number): number => flops / ms / 1e6;

/** Times `run` up to `repeats` times (at least once), stopping early when the next run would pass `deadline`. */
export async function timeRuns(run: () => Promise<void>, repeats: number, deadline: number, first: number[] = []): Promise<number[]> {
  const times = [...first];
  while (times.length < Math.max(1, repeats)) {
    if (times.length > 0 && performance.now() + median(times) > deadline) break;
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times;
}

/** A duration for notes: milliseconds below ten seconds, seconds above. */
export const formatMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(1)} ms`);

/** CPU milliseconds this process (all its threads) used since `start`, a process.cpuUsage() reading. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

export interface InterleavedTimes {
  wall: Record<string, number>; // median wall-clock milliseconds per run name
  cpu: Record<string, number>; // median CPU milliseconds of this process (all its threads) per run name
}

/**
 * Times several runs interleaved round by round after one warm-up each, so that load from other
 * processes falls on all of them alike. Wall time and this process's CPU time per run, medians: on a
 * loaded machine the wall time also counts the waits for a core, the CPU time only the work.
 */
export async function timeInterleaved(runs: Readonly<Record<string, () => Promise<unknown>>>, repeats: number): Promise<InterleavedTimes> {
  const wall: Record<string, number[]> = Object.fromEntries(Object.keys(runs).map((name) => [name, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(runs).map((name) => [name, []]));
  for (const run of Object.values(runs)) await run();
  for (let round = 0; round < repeats; round++) {
    for (const [name, run] of Object.entries(runs)) {
      const [t0, c0] = [performance.now(), process.cpuUsage()];
      await run();
      cpu[name]!.push(cpuMsSince(c0));
      wall[name]!.push(performance.now() - t0);
    }
  }
  const medians = (times: Record<string, number[]>): Record<string, number> => Object.fromEntries(Object.entries(times).map(([name, t]) => [name, median(t)]));
  return { wall: medians(wall), cpu: medians(cpu) };
}
