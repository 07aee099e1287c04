// A sharded run, on the submitting side: resolve the settings, plan the shards, keep every artefact
// that already verifies, hand the rest to an executor (this process, a local pool, a queue), check
// what comes back and merge. The artefacts are the whole state of a run: killed and started again,
// it recomputes only the shards whose artefacts are missing or do not verify.

import { unlink } from 'node:fs/promises';
import { type Artefact, artefactPath, readArtefact } from './artefact.js';
import { preparedFor, releasePrepared } from './execute.js';
import type { Executor } from './executor.js';
import { getJob } from './jobs/index.js';
import { type ShardRange, type ShardTask, planShards } from './shard.js';

export interface ShardedRunOptions {
  results: string; // the results directory every worker writes into
  executor: Executor;
  onProgress?: (done: number, total: number) => void; // items done across all shards and workers
  warn?: (message: string) => void;
}

export interface ShardedRunReport<Result> {
  result: Result;
  settingsHash: string;
  shards: number;
  reused: number; // artefacts found and verified: not computed again
  recomputed: number; // artefacts found corrupt, computed again
  wallS: number;
}

export async function runSharded<Result>(jobName: string, settings: unknown, options: ShardedRunOptions): Promise<ShardedRunReport<Result>> {
  const started = performance.now();
  const job = getJob(jobName);
  const warn = options.warn ?? (() => undefined);
  try {
    const { prepared, hash } = await preparedFor(job, settings);
    const plan = planShards(prepared.total, prepared.shardSize);
    const address = (range: ShardRange) => ({ job: job.name, settingsHash: hash, range });
    const artefacts = new Map<number, Artefact>();
    let recomputed = 0;
    for (const range of plan) {
      const check = await readArtefact(options.results, address(range));
      if (check.status === 'ok') artefacts.set(range.first, check.artefact);
      if (check.status === 'corrupt') {
        warn(`${check.reason}: computing it again`);
        await unlink(artefactPath(options.results, address(range))).catch(() => undefined);
        recomputed++;
      }
    }
    const reused = artefacts.size;
    const done = new Map<number, number>(plan.filter((r) => artefacts.has(r.first)).map((r) => [r.first, r.count]));
    const report = () => options.onProgress?.([...done.values()].reduce((a, b) => a + b, 0), prepared.total);
    report();
    const tasks: ShardTask[] = plan.filter((range) => !artefacts.has(range.first)).map((range) => ({ job: job.name, settings, settingsHash: hash, range, results: options.results }));
    if (tasks.length > 0) {
      await options.executor.run(tasks, {
        onItems: (task, items) => {
          done.set(task.range.first, Math.min(items, task.range.count));
          report();
        },
        onShardDone: (task) => {
          done.set(task.range.first, task.range.count);
          report();
        },
        warn,
      });
    }
    for (const range of plan) {
      if (artefacts.has(range.first)) continue;
      const check = await readArtefact(options.results, address(range));
      if (check.status !== 'ok') throw new Error(`shard ${range.first}+${range.count} was reported done but its artefact ${check.status === 'missing' ? 'is missing' : `does not verify (${check.reason})`}: is ${options.results} shared by every worker?`);
      artefacts.set(range.first, check.artefact);
    }
    const wallS = (performance.now() - started) / 1000;
    const result = (await job.merge(prepared.context, settings, plan.map((r) => artefacts.get(r.first)!), { wallS })) as Result;
    return { result, settingsHash: hash, shards: plan.length, reused, recomputed, wallS: (performance.now() - started) / 1000 };
  } finally {
    await releasePrepared();
  }
}
