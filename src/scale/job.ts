// A divisible job, as the shard machinery sees it: how to resolve its settings (on the submitter and
// on every worker alike), how to compute one shard, and how to merge the shards into the result.

import type { Artefact } from './artefact.js';
import type { Json, ShardRange } from './shard.js';

export interface PreparedJob<Context> {
  identity: Json; // everything that fixes the bytes of a shard: its hash is the settings hash
  total: number; // items of the whole job
  shardSize: number; // items per shard
  context: Context; // loaded models and compiled networks, reused by every shard of this process
}

export interface MergeInfo {
  wallS: number; // seconds since the submitting run started
}

export interface ShardJob<Settings = any, Context = any, Result = any> {
  name: string;
  unit: string; // what an item is, for progress bars: 'img', 'pair', 'point'
  /** Loads what shards need; throws one clear error on bad settings. Settings are plain JSON: they travel to workers. */
  prepare(settings: Settings): Promise<PreparedJob<Context>>;
  /** Computes items [first, first + count); reports items done so far. */
  runShard(context: Context, range: ShardRange, onItems: (done: number) => void): Promise<Artefact>;
  /** The job's result from every shard's artefact, in plan order. */
  merge(context: Context, settings: Settings, shards: Artefact[], info: MergeInfo): Promise<Result>;
  dispose(context: Context): Promise<void>;
}
