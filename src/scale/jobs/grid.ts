// Sample grids (`hasten sample`) as a sharded job: each shard's images and labels; the merge puts
// them side by side in sample order.

import type { HostTensor } from '../../engine/host-tensor.js';
import type { GenerateResult } from '../../pipeline/generate.js';
import type { ShardJob } from '../job.js';
import { type SamplingContext, type SamplingSettings, prepareSampling, sampleShard, samplingExtra, sumExtra } from './sampling.js';

export const gridJob: ShardJob<SamplingSettings, SamplingContext, GenerateResult> = {
  name: 'grid',
  unit: 'img',

  async prepare(settings) {
    const { context, identity } = await prepareSampling(settings);
    return { identity: { job: 'grid', ...identity }, total: settings.n, shardSize: settings.shardSize, context };
  },

  async runShard(context, range, onItems) {
    const result = await sampleShard(context, range, onItems);
    const tensors = new Map<string, HostTensor>([['images', result.images]]);
    if (result.labels) tensors.set('labels', { dtype: 'int64', shape: [range.count], data: BigInt64Array.from(result.labels, BigInt) });
    return { tensors, extra: samplingExtra(result) };
  },

  async merge(context, settings, shards) {
    const perSample = context.trained.config.dataShape.reduce((a, b) => a * b, 1);
    const images = new Float32Array(settings.n * perSample);
    const labels: number[] = [];
    let offset = 0;
    for (const shard of shards) {
      const data = shard.tensors.get('images')!.data as Float32Array;
      images.set(data, offset);
      offset += data.length;
      const shardLabels = shard.tensors.get('labels');
      if (shardLabels) labels.push(...Array.from(shardLabels.data as BigInt64Array, Number));
    }
    return {
      images: { dtype: 'float32', shape: [settings.n, ...context.trained.config.dataShape], data: images },
      ...(labels.length > 0 && { labels }),
      nfe: Number(shards[0]!.extra.nfe),
      wallS: sumExtra(shards, 'sampling_s'),
      flops: sumExtra(shards, 'flops'),
    };
  },

  async dispose(context) {
    await context.network.dispose();
  },
};
