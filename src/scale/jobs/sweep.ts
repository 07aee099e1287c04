// The Skip-Tuning sweep of `hasten bench accel` (factor x NFE) as a sharded job: an item is one sweep
// point, scored on n samples; the merge lists the points in grid order, as the bench does in one process.

import { type SweepGridPoint, type SweepPoint, skipTuningSweepNetwork, skipTuningSweepPoint } from '../../bench/accel.js';
import { openDataset } from '../../data/registry.js';
import type { HostTensor } from '../../engine/host-tensor.js';
import { type FeatureNet, shippedFeatureNetDir } from '../../eval/feature-net.js';
import { featureNetDir, openFeatureNet } from '../../pipeline/evaluate-model.js';
import { type SamplingNetwork, trainedTarget } from '../../pipeline/generate.js';
import { type TrainedModel, loadTrainedModel } from '../../pipeline/model-store.js';
import type { ShardJob } from '../job.js';
import { weightsDigest } from './sampling.js';

export interface SweepSettings {
  model: string;
  sampler: string;
  n: number; // samples scored per point
  seed: number;
  batch: number;
  points: SweepGridPoint[];
  shardSize: number; // points per shard
}

interface SweepContext {
  trained: TrainedModel;
  network: SamplingNetwork;
  featureNet?: FeatureNet; // the shipped one for the model's data, as the bench uses; none: FD and accuracy are null
  settings: SweepSettings;
}

const NULL_SCORE = NaN; // how a null FD or accuracy is stored

export const sweepJob: ShardJob<SweepSettings, SweepContext, SweepPoint[]> = {
  name: 'sweep',
  unit: 'point',

  async prepare(settings) {
    const trained = await loadTrainedModel(settings.model);
    const hasFeatures = shippedFeatureNetDir(openDataset(trained.config.data, { resolution: trained.config.resolution })) !== undefined;
    const featureNet = hasFeatures ? await openFeatureNet(trained) : undefined;
    const identity = {
      job: 'sweep',
      weights: await weightsDigest(trained.location),
      features: hasFeatures ? await weightsDigest(featureNetDir(trained)) : null,
      sampler: settings.sampler, n: settings.n, seed: settings.seed, batch: settings.batch,
      points: settings.points.map(({ steps, factor }) => ({ steps, factor })),
    };
    return { identity, total: settings.points.length, shardSize: settings.shardSize, context: { trained, network: skipTuningSweepNetwork(trainedTarget(trained, settings.n)), featureNet, settings } };
  },

  async runShard({ trained, network, featureNet, settings }, range, onItems) {
    const columns = { nfe: new Float64Array(range.count), factor: new Float64Array(range.count), fd: new Float64Array(range.count), accuracy: new Float64Array(range.count) };
    const run = { sampler: settings.sampler, seed: settings.seed, n: settings.n, batch: settings.batch };
    for (let i = 0; i < range.count; i++) {
      const point = await skipTuningSweepPoint(trained, network, featureNet, run, settings.points[range.first + i]!);
      columns.nfe[i] = point.nfe;
      columns.factor[i] = point.factor;
      columns.fd[i] = point.fd ?? NULL_SCORE;
      columns.accuracy[i] = point.accuracy ?? NULL_SCORE;
      onItems(i + 1);
    }
    const tensors = new Map<string, HostTensor>(Object.entries(columns).map(([name, data]) => [name, { dtype: 'float64', shape: [range.count], data }]));
    return { tensors, extra: {} };
  },

  async merge(_context, _settings, shards) {
    const points: SweepPoint[] = [];
    for (const shard of shards) {
      const column = (name: string) => shard.tensors.get(name)!.data as Float64Array;
      const [nfe, factor, fd, accuracy] = ['nfe', 'factor', 'fd', 'accuracy'].map(column);
      for (let i = 0; i < nfe!.length; i++) {
        points.push({ nfe: nfe![i]!, factor: factor![i]!, fd: Number.isNaN(fd![i]!) ? null : fd![i]!, accuracy: Number.isNaN(accuracy![i]!) ? null : accuracy![i]! });
      }
    }
    return points;
  },

  async dispose({ network, featureNet }) {
    await network.dispose();
    await featureNet?.dispose();
  },
};
