// Training a 2-rectified flow on teacher pairs (rectified flow++): the student starts from the
// teacher's weights and regresses the straight-line velocity z − x0 of each pair, with a chosen
// timestep distribution and loss, optionally mixing in real data with fresh noise. It runs on the
// toolkit's trainer (checkpoints, EMA, exact resume, divergence guard) with pairs as the batch source.

import { type Dataset, DatasetError } from '../data/dataset.js';
import { openDataset } from '../data/registry.js';
import { sameShape, type HostTensor } from '../engine/host-tensor.js';
import type { RunFolderChoice } from '../engine/run-folder.js';
import { RngStream } from '../engine/rng.js';
import { loadFeatureNet, shippedFeatureNetDir } from '../eval/feature-net.js';
import type { TrainedModel } from '../pipeline/model-store.js';
import { type TrainConfig, type TrainResult, type TrainerCallbacks, TRAIN_DEFAULTS, train } from '../train/trainer.js';
import { type BatchSource, conditioningFeeds } from '../train/batch-source.js';
import { type FeatureMap, type ReflowLoss, featureNetMap, identityMap, lossScales, reflowLoss } from './loss.js';
import { preparePairBatch, studentObjective } from './objective.js';
import { type PairSet, openPairs } from './pairs.js';
import { type TimeDistribution, sampleTimes } from './timesteps.js';
import { InputError } from '../engine/input-error.js';

export interface ReflowSettings {
  pairs: string; // directory written by `hasten reflow pairs`
  time: TimeDistribution; // distribution of t during training
  loss: ReflowLoss;
  features?: string; // feature network for the perceptual term; default: the one shipped for the dataset
  realFraction: number; // fraction of each batch drawn from the dataset with fresh noise instead of pairs
}

export interface ReflowTrainConfig extends TrainConfig {
  reflow: ReflowSettings;
}

/** Training settings where reflow differs from training from scratch. */
export const REFLOW_TRAIN_DEFAULTS = {
  // Pairs come from the conditional teacher at guidance 1 and the student is meant for 1-2 steps
  // without guidance, so no capacity goes to an unconditional model.
  labelDropout: 0,
  lr: 5e-4, // a fine-tune of a trained network; rectified flow++ uses 2e-4 with batches of 512
  warmup: 50, // short: the weights start trained
} satisfies Partial<TrainConfig>;

/** The student's training config: the teacher's data, network and conditioning, started from its weights. */
export function reflowTrainConfig(teacher: TrainedModel, pairs: PairSet, reflow: ReflowSettings, training: Partial<TrainConfig> = {}): ReflowTrainConfig {
  const teacherShape = teacher.config.dataShape.join('x');
  if (!sameShape(pairs.dataShape, teacher.config.dataShape)) throw new InputError(`pairs in ${pairs.dir} are ${pairs.dataShape.join('x')} samples but '${teacher.name}' is a ${teacherShape} model`);
  if (teacher.config.cond === 'caption') throw new InputError(`'${teacher.name}' is caption-conditioned; reflow supports unconditional and class-conditional models`);
  if (teacher.config.cond === 'class' && pairs.numClasses !== teacher.model.config.numClasses) {
    throw new InputError(`'${teacher.name}' has ${teacher.model.config.numClasses} classes but the pairs in ${pairs.dir} have ${pairs.numClasses === 0 ? 'no labels' : `${pairs.numClasses} classes`}`);
  }
  if (!(reflow.time.epsilon > 0)) throw new InputError(`the time epsilon must be > 0: the velocity is undefined at t = 0 and 1, got ${reflow.time.epsilon}`);
  if (!(reflow.realFraction >= 0 && reflow.realFraction <= 1)) throw new InputError(`the real-data fraction must be in [0, 1], got ${reflow.realFraction}`);
  return {
    ...TRAIN_DEFAULTS,
    ...REFLOW_TRAIN_DEFAULTS,
    ...training,
    data: teacher.config.data,
    resolution: teacher.config.resolution,
    model: teacher.config.model,
    objective: studentObjective(teacher.config.objective, 1 - reflow.time.epsilon),
    cond: teacher.config.cond,
    init: teacher.location,
    reflow,
  };
}

/** The feature map of the perceptual term: the frozen evaluation network for images, the identity for points. */
async function perceptualFeatures(reflow: ReflowSettings, dataset: Dataset): Promise<FeatureMap> {
  if (dataset.kind === 'points') {
    if (reflow.features) throw new InputError(`${dataset.name} is a dataset of points: it has no feature network, drop --features`);
    return identityMap;
  }
  const dir = reflow.features ?? shippedFeatureNetDir(dataset);
  if (!dir) throw new DatasetError(`no feature network ships for ${dataset.name} at ${dataset.shape.join('x')}: train one with 'hasten train-features' and pass --features DIR`);
  const net = await loadFeatureNet(dir);
  if (!sameShape(net.config.imageShape, dataset.shape)) throw new InputError(`the feature network in ${dir} reads ${net.config.imageShape.join('x')} images, not ${dataset.shape.join('x')}`);
  return featureNetMap(net.config, net.params);
}

/**
 * Pair p of the training stream: epoch floor(p / N) visits every pair once in its own seeded order,
 * so the batch of a step depends only on the step.
 */
function pairOrder(seed: number, count: number): (position: number) => number {
  const epochs = new Map<number, Int32Array>();
  return (position) => {
    const epoch = Math.floor(position / count);
    let order = epochs.get(epoch);
    if (!order) {
      order = RngStream.fromSeed(seed, 'reflow-pair-order', epoch).permutation(count);
      // A batch spans at most two epochs.
      if (epochs.size >= 2) epochs.delete(Math.min(...epochs.keys()));
      epochs.set(epoch, order);
    }
    return order[position % count]!;
  };
}

export async function reflowSource(config: ReflowTrainConfig, dataset: Dataset): Promise<BatchSource> {
  const { reflow } = config;
  const pairs = await openPairs(reflow.pairs);
  const features = reflow.loss.kind === 'perceptual-huber' ? await perceptualFeatures(reflow, dataset) : identityMap;
  const shape = dataset.shape;
  const perSample = shape.reduce((a, b) => a * b, 1);
  const network = config.objective.network ?? config.objective.name;
  const realRows = Math.round(reflow.realFraction * config.batch);
  const pairRows = config.batch - realRows;
  const order = pairOrder(config.seed, pairs.count);
  return {
    feeds(step) {
      const rng = RngStream.fromSeed(config.seed, 'reflow', step);
      const x0 = new Float32Array(config.batch * perSample);
      const z = new Float32Array(config.batch * perSample);
      const labels = new BigInt64Array(config.batch);
      for (let b = 0; b < pairRows; b++) {
        const k = order(step * pairRows + b);
        x0.set(pairs.sample.subarray(k * perSample, (k + 1) * perSample), b * perSample);
        z.set(pairs.noise.subarray(k * perSample, (k + 1) * perSample), b * perSample);
        if (pairs.labels) labels[b] = pairs.labels[k]!;
      }
      if (realRows > 0) {
        // Real data has no partner noise: it gets fresh noise, i.e. the plain rectified-flow target.
        const real = dataset.sample({ start: step * realRows, count: realRows }, config.seed);
        x0.set(real.x.data, pairRows * perSample);
        z.set(rng.derive('real-noise').normal({ start: 0, count: realRows }, shape), pairRows * perSample);
        if (real.labels) labels.set(real.labels.data, pairRows);
      }
      const t = sampleTimes(reflow.time, rng.derive('time').uniform({ start: 0, count: config.batch }, 1, new Float64Array(config.batch)), rng.derive('time-normal').normal({ start: 0, count: config.batch }, 1, new Float64Array(config.batch)));
      const prepared = preparePairBatch(network, config.objective.sigmaData, x0, z, t);
      const scale = new Float32Array(config.batch);
      const weight = new Float32Array(config.batch);
      const perceptual = new Float32Array(config.batch);
      for (let b = 0; b < config.batch; b++) {
        const s = lossScales(reflow.loss, t[b]!, prepared.velocity[b]!, perSample);
        [scale[b], weight[b], perceptual[b]] = [s.scale, s.weight, s.perceptual];
      }
      const rows = (data: Float32Array): HostTensor => ({ dtype: 'float32', shape: [config.batch], data });
      const samples = (data: Float32Array): HostTensor => ({ dtype: 'float32', shape: [config.batch, ...shape], data });
      const feeds: Record<string, HostTensor> = {
        x: samples(prepared.input), noise: rows(prepared.noiseLabel), target: samples(prepared.target), scale: rows(scale), weight: rows(weight),
        ...conditioningFeeds(config, step, { labels: { dtype: 'int64', shape: [config.batch], data: labels } }),
      };
      if (reflow.loss.kind === 'perceptual-huber') {
        Object.assign(feeds, { data: samples(x0), denoisedInput: rows(prepared.denoisedInput), denoisedOutput: rows(prepared.denoisedOutput), perceptual: rows(perceptual) });
      }
      return feeds;
    },
    loss: (output, inputs) => reflowLoss(reflow.loss, features, output, inputs),
  };
}

/** Trains (or resumes) a reflow student into `out`. */
export async function trainReflow(config: ReflowTrainConfig, out: string, options: RunFolderChoice & { callbacks?: TrainerCallbacks } = {}): Promise<TrainResult> {
  const dataset = openDataset(config.data, { resolution: config.resolution });
  return train(config, out, { ...options, source: await reflowSource(config, dataset) });
}
