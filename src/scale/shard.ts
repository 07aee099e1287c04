// Shards: one description of a divisible job. A job's settings (plain JSON, as a command's flags give
// them) plus a range of items (samples, pairs, sweep points) is all a worker needs; item k depends
// only on the settings and k (the per-sample RNG), so shards can run anywhere, in any order, and
// their results put side by side equal the job run in one process.

import { createHash } from 'node:crypto';
import { InputError } from '../engine/input-error.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Items [first, first + count) of a job. */
export interface ShardRange {
  first: number;
  count: number;
}

/** What travels to a worker: everything to compute one shard and where its artefact goes. */
export interface ShardTask {
  job: string; // a job name of src/scale/jobs
  settings: unknown; // the job's settings (plain JSON), as the submitter was given them
  settingsHash: string; // what the submitter resolved them to (settingsHash of the job's identity): a worker that resolves them otherwise refuses the shard
  range: ShardRange;
  results: string; // the results directory (shared by every worker and the submitter)
}

/**
 * The shards of `total` items: [0, size), [size, 2 size), ... The plan depends only on (total, size),
 * so a restarted run finds the same shards, and so that a shard's batches are the batches a single
 * process runs, `size` must be a multiple of the batch size (see checkShardSize).
 */
export function planShards(total: number, size: number): ShardRange[] {
  if (!Number.isSafeInteger(total) || total < 1) throw new InputError(`a sharded job needs a positive number of items, got ${total}`);
  if (!Number.isSafeInteger(size) || size < 1) throw new InputError(`shard size must be a positive integer, got ${size}`);
  return Array.from({ length: Math.ceil(total / size) }, (_, i) => ({ first: i * size, count: Math.min(size, total - i * size) }));
}

/** A shard holds whole batches: only then does each sample meet the network in the batch of the one-process run. */
export function checkShardSize(size: number, batch: number): void {
  if (!Number.isSafeInteger(size) || size < 1 || size % batch !== 0) {
    throw new InputError(`shard size ${size} is not a multiple of the batch size ${batch}: shards must hold whole batches so that merged results equal a one-process run`);
  }
}

/** JSON with object keys sorted at every level: one text per value, whatever order its keys were built in. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not JSON`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The settings hash: sha256 of the canonical JSON of everything that fixes a shard's bytes. */
export function settingsHash(identity: unknown): string {
  return createHash('sha256').update(canonicalJson(identity)).digest('hex');
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
