// Peak memory of the reference training step, measured in a process of its own so that nothing else
// the benchmark did is counted. Run as a script, it prints one JSON line.

import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import * as F from '../engine/ops/index.js';
import { TrainStep } from '../engine/train-step.js';
import { WORKLOAD, workloadForward, workloadParams } from './engine-workload.js';

export interface TrainingMemory {
  baseline_rss_mb: number; // the process before the training step was built (Node, ONNX Runtime, parameters)
  peak_rss_mb: number; // the process's peak while training
}

async function measureInThisProcess(steps = 4): Promise<TrainingMemory> {
  const params = workloadParams();
  const baseline = process.memoryUsage().rss / 2 ** 20;
  const step = new TrainStep(params, (g, { x, target }) => F.mean(F.square(F.sub(workloadForward(g, x!), target!))));
  const shape = [WORKLOAD.batch, WORKLOAD.imageChannels, WORKLOAD.resolution, WORKLOAD.resolution];
  const tensor = (): { dtype: 'float32'; shape: number[]; data: Float32Array } => ({ dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1) });
  const batch = { x: tensor(), target: tensor() };
  for (let i = 0; i < steps; i++) await step.step(batch, 1e-4);
  await step.dispose();
  return { baseline_rss_mb: baseline, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
}

/** Runs the measurement in a child process. */
export function measureTrainingMemory(): TrainingMemory {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as TrainingMemory;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  measureInThisProcess().then((result) => console.log(JSON.stringify(result)));
}
