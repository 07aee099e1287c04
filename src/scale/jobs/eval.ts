// `eval` as a sharded job: each shard generates its samples and, for images, runs the feature network
// on them, so an artefact holds features and logits (KBs per image) rather than images. The merge
// scores them against real data exactly as evaluateModel does in one process.

import { openDataset } from '../../data/registry.js';
import type { HostTensor } from '../../engine/host-tensor.js';
import { evaluateImageFeatures } from '../../eval/evaluate.js';
import { type FeatureNet, loadFeatureNet } from '../../eval/feature-net.js';
import { EVALUATION_SEED_OFFSET, type ModelEvaluation, featureNetDir, scoreSamples } from '../../pipeline/evaluate-model.js';
import { joinedColumn } from '../artefact.js';
import type { ShardJob } from '../job.js';
import { type SamplingContext, type SamplingSettings, prepareSampling, sampleShard, samplingExtra, sumExtra, weightsDigest } from './sampling.js';

export interface EvalSettings extends SamplingSettings {
  features?: string; // feature network directory; default: the one shipped for the model's data
  realSets?: number; // K independent real sets behind each distance (the merge's alone: shards do not depend on it)
}

interface EvalContext extends SamplingContext {
  featureNet?: FeatureNet; // image models only
}

export const evalJob: ShardJob<EvalSettings, EvalContext, ModelEvaluation> = {
  name: 'eval',
  unit: 'img',

  async prepare(settings) {
    const { context, identity } = await prepareSampling(settings);
    const isImages = context.trained.config.dataShape.length === 3;
    if (!isImages) return { identity: { job: 'eval', ...identity }, total: settings.n, shardSize: settings.shardSize, context };
    const dir = featureNetDir(context.trained, settings.features);
    const featureNet = await loadFeatureNet(dir);
    return { identity: { job: 'eval', ...identity, features: await weightsDigest(dir) }, total: settings.n, shardSize: settings.shardSize, context: { ...context, featureNet } };
  },

  async runShard(context, range, onItems) {
    const result = await sampleShard(context, range, onItems);
    const tensors = new Map<string, HostTensor>();
    if (context.featureNet) {
      const { features, logits } = await context.featureNet.features(result.images);
      const { featureDim, numClasses } = context.featureNet.config;
      tensors.set('features', { dtype: 'float64', shape: [range.count, featureDim], data: features });
      tensors.set('logits', { dtype: 'float64', shape: [range.count, numClasses], data: logits });
    } else {
      tensors.set('points', result.images);
    }
    if (result.labels) tensors.set('labels', { dtype: 'int64', shape: [range.count], data: BigInt64Array.from(result.labels, BigInt) });
    return { tensors, extra: samplingExtra(result) };
  },

  async merge(context, settings, shards, info) {
    const { trained } = context;
    const n = settings.n;
    const labels = shards[0]!.tensors.has('labels') ? joinedColumn<BigInt64Array>(shards, 'labels') : undefined;
    const realSeed = settings.seed + EVALUATION_SEED_OFFSET;
    let scores;
    if (context.featureNet) {
      const dataset = openDataset(trained.config.data, { resolution: trained.config.resolution });
      const fake = { features: joinedColumn<Float64Array>(shards, 'features'), logits: joinedColumn<Float64Array>(shards, 'logits') };
      scores = await evaluateImageFeatures(context.featureNet, fake, labels && { dtype: 'int64', shape: [n], data: labels }, dataset, n, realSeed, { realSets: settings.realSets });
    } else {
      const points = joinedColumn<Float32Array>(shards, 'points');
      scores = await scoreSamples(trained, { dtype: 'float32', shape: [n, ...trained.config.dataShape], data: points }, labels && Array.from(labels, Number), settings.seed, undefined, { realSets: settings.realSets });
    }
    return { ...scores, nfe: Number(shards[0]!.extra.nfe), sampling_s: sumExtra(shards, 'sampling_s'), gflops_per_image: sumExtra(shards, 'flops') / n / 1e9, wall_s: info.wallS };
  },

  async dispose(context) {
    await context.network.dispose();
    await context.featureNet?.dispose();
  },
};
