// Training throughput of a model on a dataset: images per second of the compiled training step and
// its GFLOP/s as a fraction of the machine's roofline (the peak of `hasten bench engine`).

import { openDataset } from '../data/registry.js';
import type { HostTensor } from '../engine/host-tensor.js';
import { TrainStep } from '../engine/train-step.js';
import { moduleFlops } from '../models/flops.js';
import { initParams } from '../models/init.js';
import { ModuleContext } from '../models/module-context.js';
import type { Model } from '../models/registry.js';
import { weightedLoss } from '../train/loss.js';
import { prepareBatch, type ObjectiveSettings } from '../train/objectives.js';
import { measurePeak } from './engine.js';
import { gflops, type TimingOptions, timeIt } from './timing.js';

export interface TrainThroughput {
  params: number;
  forward_gflop_per_image: number;
  batch: number;
  step_ms: number;
  images_per_second: number;
  train_gflops: number; // 3 x forward FLOPs per step (the usual convention), per second
  peak_gflops: number;
  fraction_of_peak: number;
}

export async function measureTrainThroughput(model: Model, data: { spec: string; resolution?: number }, objective: ObjectiveSettings, batch: number, timing: TimingOptions): Promise<TrainThroughput> {
  const dataset = openDataset(data.spec, { resolution: data.resolution });
  const flopsPerImage = moduleFlops(model, { batch: 1 }).total;
  const step = new TrainStep(initParams(model, 0), (g, inputs) => weightedLoss(model.forward(new ModuleContext(g), { x: inputs.x!, noise: inputs.noise!, label: inputs.label }), inputs.target!, inputs.weight!));
  const real = dataset.sample({ start: 0, count: batch }, 0);
  const prepared = prepareBatch(objective, real.x.data, batch, 0, 0);
  const shape = [batch, ...dataset.shape];
  const feeds: Record<string, HostTensor> = {
    x: { dtype: 'float32', shape, data: prepared.input },
    noise: { dtype: 'float32', shape: [batch], data: prepared.noiseLabel },
    target: { dtype: 'float32', shape, data: prepared.target },
    weight: { dtype: 'float32', shape: [batch], data: prepared.weight },
  };
  if (model.config.numClasses > 0 && real.labels) feeds.label = real.labels;
  const t = await timeIt(() => step.step(feeds, 1e-4), timing);
  await step.dispose();
  const peak = await measurePeak({ timing });
  const trainGflops = gflops(3 * flopsPerImage * batch, t.medianMs);
  const peakGflops = Math.max(peak.conv, peak.matmul);
  return {
    params: model.paramCount(),
    forward_gflop_per_image: flopsPerImage / 1e9,
    batch,
    step_ms: t.medianMs,
    images_per_second: (1000 * batch) / t.medianMs,
    train_gflops: trainGflops,
    peak_gflops: peakGflops,
    fraction_of_peak: trainGflops / peakGflops,
  };
}
