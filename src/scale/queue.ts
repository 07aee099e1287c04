// The job queue the submitter and `hasten worker` processes share: BullMQ on Redis. One BullMQ job
// per shard, its id the shard's address, so a submitter started again adds nothing twice.

import type { ConnectionOptions } from 'bullmq';
import { InputError } from '../engine/input-error.js';
import type { ShardTask } from './shard.js';

export const QUEUE_NAME = 'hasten-shards';

/** BullMQ's connection for a redis:// (or rediss://) URL; one clear error for anything else. */
export function queueConnection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`--queue expects a Redis URL such as redis://127.0.0.1:6379, got '${url}'`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new InputError(`--queue expects a redis:// or rediss:// URL, got '${url}'`);
  // Workers wait on the queue for as long as it takes: a request must never give up.
  return { url, maxRetriesPerRequest: null };
}

/** BullMQ job ids may not contain ':'; the shard's address has none. */
export const shardJobId = (task: Pick<ShardTask, 'job' | 'settingsHash' | 'range'>): string => `${task.job}-${task.settingsHash.slice(0, 32)}-${task.range.first}-${task.range.count}`;

/** How long a worker's lock on a shard lasts without renewal: a SIGKILLed worker's shard goes back to the queue after this. */
export const DEFAULT_LOCK_MS = 30_000;
