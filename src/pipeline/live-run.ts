// A training run held in memory and stepped by its caller: the compiled training step (forward,
// backward and AdamW in one graph), the learning-rate schedule and the EMA, with no files. A page
// trains with it between animation frames; train() in trainer.ts adds checkpoints, resume and logs.

import type { Dataset } from '../data/dataset.js';
import { cloneParams } from '../engine/host-tensor.js';
import { learningRateSchedule } from '../engine/optim.js';
import { TrainStep } from '../engine/train-step.js';
import { TrainingLoop } from '../engine/training-loop.js';
import { initParams } from '../models/init.js';
import { ModuleContext } from '../models/module-context.js';
import { type Model, createModel } from '../models/registry.js';
import type { TrainedModel } from './model-store.js';
import { type BatchSource, objectiveSource } from '../train/batch-source.js';
import type { TrainConfig } from '../train/trainer.js';

export class LiveRun {
  readonly model: Model;
  readonly losses: number[] = [];
  seconds = 0; // time spent in training steps
  firstStepSeconds = 0; // the first step's time, which includes compiling the step
  private readonly source: BatchSource;
  private readonly trainStep: TrainStep;
  private readonly loop: TrainingLoop;

  constructor(readonly config: TrainConfig, readonly dataset: Dataset) {
    this.model = createModel(config.model);
    this.source = objectiveSource(config, dataset);
    this.trainStep = new TrainStep(initParams(this.model, config.seed), (graph, inputs) => {
      const output = this.model.forward(new ModuleContext(graph), { x: inputs.x!, noise: inputs.noise!, label: inputs.label, caption: inputs.caption });
      return this.source.loss(output, inputs, new Map());
    }, { clipGradNorm: config.clipGradNorm });
    this.loop = new TrainingLoop(this.trainStep, {
      learningRate: learningRateSchedule({ peak: config.lr, warmupSteps: config.warmup, decay: config.lrDecay, totalSteps: Math.max(config.steps, config.warmup + 1) }),
      advice: 'Try a lower learning rate.',
      ema: { halfLifeImages: config.emaHalfLifeImages, batchSize: config.batch },
    });
  }

  get step(): number {
    return this.losses.length;
  }

  get done(): boolean {
    return this.step >= this.config.steps;
  }

  /** One optimizer step; returns its loss. A non-finite loss is an error and leaves the parameters as they were. */
  async advance(): Promise<number> {
    const step = this.step;
    const started = performance.now();
    const result = await this.loop.advance(await this.source.feeds(step));
    const seconds = (performance.now() - started) / 1000;
    if (step === 0) this.firstStepSeconds = seconds;
    this.seconds += seconds;
    this.losses.push(result.loss);
    return result.loss;
  }

  /** Training speed after the first step (which compiles); NaN before the second. */
  stepsPerSecond(): number {
    return this.step > 1 ? (this.step - 1) / (this.seconds - this.firstStepSeconds) : NaN;
  }

  /** A copy of the averaged weights so far, as a model the samplers take. */
  trained(name: string): TrainedModel {
    return {
      name,
      location: 'memory',
      model: this.model,
      params: cloneParams(this.loop.ema!),
      config: { ...this.config, dataShape: [...this.dataset.shape], classNames: this.dataset.classNames ? [...this.dataset.classNames] : null },
      step: this.step,
      saveId: `live-${this.step}`,
    };
  }

  dispose(): Promise<void> {
    return this.trainStep.dispose();
  }
}
