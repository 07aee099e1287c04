// `hasten gmem bank` (encoding a dataset) as a sharded job: a shard encodes a stretch of the stream,
// in whole batches, so each image meets the encoder in the batch of the one-process build; the merge
// puts the stretches end to end into the bank buildBank gives for all of them.

import { openDataset } from '../../data/registry.js';
import type { Dataset } from '../../data/dataset.js';
import { BANK_BATCH, type BankMetadata, MemoryBank, buildBank } from '../../gmem/bank.js';
import { type SnippetEncoder, encoderDir, loadEncoder } from '../../gmem/encoder.js';
import { joinedColumn } from '../artefact.js';
import type { ShardJob } from '../job.js';
import { checkShardSize } from '../shard.js';
import { weightsDigest } from './sampling.js';

export interface BankJobSettings {
  encoder: string; // where every worker finds the encoder (a shipped name or an absolute path)
  encoderName: string; // what the bank's metadata records, as the command was given it
  data: string; // where every worker finds the dataset (a folder: by absolute path)
  dataName: string; // what the bank's metadata records, as the command was given it
  resolution: number;
  seed: number;
  start: number; // first stream position of the whole bank
  count: number;
  mirrored: boolean;
  batch: number; // images per encoder call
  shardSize: number; // images per shard: a multiple of batch
}

export const DEFAULT_BANK_SHARD_SIZE = 10 * BANK_BATCH; // about 5 s of the shapes encoder on 2 cores

interface BankContext {
  encoder: SnippetEncoder;
  dataset: Dataset;
  settings: BankJobSettings;
}

export const bankJob: ShardJob<BankJobSettings, BankContext, MemoryBank> = {
  name: 'bank',
  unit: 'img',

  async prepare(settings) {
    checkShardSize(settings.shardSize, Math.min(settings.batch, settings.count));
    const encoder = await loadEncoder(settings.encoder);
    const dataset = openDataset(settings.data, { resolution: settings.resolution });
    const { encoder: _where, encoderName: _name, dataName: _data, shardSize: _size, ...rest } = settings;
    const identity = { job: 'bank', encoderWeights: await weightsDigest(encoderDir(settings.encoder)), ...rest };
    return { identity, total: settings.count, shardSize: settings.shardSize, context: { encoder, dataset, settings } };
  },

  async runShard({ encoder, dataset, settings }, range, onItems) {
    const { encoderName, seed, mirrored, batch } = settings;
    const part = await buildBank(encoder, dataset, { encoderName, count: range.count, start: settings.start + range.first, seed, mirrored, batch, onProgress: onItems });
    return { tensors: part.tensors(), extra: { metadata: JSON.stringify(part.metadata) } };
  },

  async merge(_context, settings, shards) {
    // The names as given to the command, not as the workers found them: the bank a one-process build writes.
    const { encoderName: encoder, dataName: data, start, count } = settings;
    const metadata: BankMetadata = { ...(JSON.parse(shards[0]!.extra.metadata!) as BankMetadata), encoder, data, start, count };
    const labels = shards[0]!.tensors.has('labels') ? joinedColumn<BigInt64Array>(shards, 'labels') : undefined;
    const mirrored = settings.mirrored ? joinedColumn<Float32Array>(shards, 'mirrored') : undefined;
    return new MemoryBank(metadata, joinedColumn<Float32Array>(shards, 'rows'), undefined, joinedColumn<Float32Array>(shards, 'frequencies'), labels, mirrored);
  },

  async dispose({ encoder }) {
    await encoder.dispose();
  },
};
