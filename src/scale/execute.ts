// Computing one shard on a worker: resolve the job's settings (once per process: the model stays
// loaded and its sessions compiled for the next shard), refuse a shard whose settings hash differs
// from this worker's, skip one whose artefact already verifies, else compute and write it.

import { InputError } from '../engine/input-error.js';
import { readArtefact, writeArtefact } from './artefact.js';
import type { PreparedJob, ShardJob } from './job.js';
import { getJob } from './jobs/index.js';
import { type ShardTask, canonicalJson, settingsHash } from './shard.js';

/** A shard this worker must not compute: its settings resolve to another hash here. Retrying elsewhere may help; retrying here cannot. */
export class ShardRefused extends InputError {
  override name = 'ShardRefused';
}

export interface ShardOutcome {
  computed: boolean; // false: a verified artefact was already there
  seconds: number;
  path?: string;
}

let current: { key: string; job: ShardJob; prepared: Promise<{ prepared: PreparedJob<unknown>; hash: string }> } | undefined;

/** The job's prepared context for these settings, kept for the next shard with the same settings. */
export async function preparedFor(job: ShardJob, settings: unknown): Promise<{ prepared: PreparedJob<unknown>; hash: string }> {
  const key = canonicalJson({ job: job.name, settings });
  if (current?.key !== key) {
    const previous = current;
    current = { key, job, prepared: job.prepare(settings).then((prepared) => ({ prepared, hash: settingsHash(prepared.identity) })) };
    current.prepared.catch(() => { current = undefined; });
    if (previous) await previous.prepared.then(({ prepared }) => previous.job.dispose(prepared.context), () => undefined);
  }
  return current.prepared;
}

/** Releases what this process keeps loaded between shards. */
export async function releasePrepared(): Promise<void> {
  const previous = current;
  current = undefined;
  if (previous) await previous.prepared.then(({ prepared }) => previous.job.dispose(prepared.context), () => undefined);
}

export async function executeShard(task: ShardTask, onItems: (done: number) => void = () => undefined): Promise<ShardOutcome> {
  const started = performance.now();
  const job = getJob(task.job);
  const { prepared, hash } = await preparedFor(job, task.settings);
  if (hash !== task.settingsHash) {
    throw new ShardRefused(`shard ${task.job} ${task.range.first}+${task.range.count} wants settings hash ${task.settingsHash.slice(0, 16)}, this worker resolves its settings to ${hash.slice(0, 16)} (another model's weights, feature network or hasten version here): refused`);
  }
  const address = { job: task.job, settingsHash: hash, range: task.range };
  if ((await readArtefact(task.results, address)).status === 'ok') return { computed: false, seconds: (performance.now() - started) / 1000 };
  const computeStarted = performance.now();
  const artefact = await job.runShard(prepared.context, task.range, onItems);
  // Seconds of the shard's own work, without loading the model or queueing: what queue overhead is measured against.
  artefact.extra.compute_s = String((performance.now() - computeStarted) / 1000);
  const path = await writeArtefact(task.results, address, artefact);
  return { computed: true, seconds: (performance.now() - started) / 1000, path };
}
