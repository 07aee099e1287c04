// A toy2d training run held in memory: an MLP from scratch on a 2-D distribution, with settings a
// page can offer. The browser app trains with it, and the web benchmark runs the same job in Node.

import { type Toy2dName, toy2dDataset } from '../data/toy2d.js';
import { resolveModelConfig } from '../models/registry.js';
import { LiveRun } from './live-run.js';
import { objectiveSettings } from '../train/objectives.js';
import type { TrainConfig } from '../train/trainer.js';

export interface ToySettings {
  data: Toy2dName;
  steps: number; // optimizer steps to run
  batch: number;
  lr: number;
  width: number; // MLP hidden width
  depth: number; // MLP residual blocks
  seed: number;
}

export const TOY_DEFAULTS: ToySettings = { data: 'two-moons', steps: 2000, batch: 256, lr: 2e-3, width: 128, depth: 3, seed: 0 };

export function toyConfig(settings: ToySettings): TrainConfig {
  return {
    data: `toy2d:${settings.data}`,
    model: resolveModelConfig({ arch: 'mlp', dataDim: 2, width: settings.width, depth: settings.depth }),
    objective: objectiveSettings('edm'),
    cond: 'none',
    steps: settings.steps,
    batch: settings.batch,
    lr: settings.lr,
    warmup: 100, // Adam's first steps, with empty moments, are unstable without it
    lrDecay: 'constant',
    clipGradNorm: 1,
    emaHalfLifeImages: 20_000, // short runs: the average follows within ~80 steps of 256
    labelDropout: 0,
    seed: settings.seed,
    checkpointEvery: settings.steps, // unused: the page keeps the run in memory
    logEvery: 1,
  };
}

export const toyRun = (settings: ToySettings): LiveRun => new LiveRun(toyConfig(settings), toy2dDataset(settings.data));
