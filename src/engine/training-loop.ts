// The one training loop: the learning rate of each step, the compiled training step, a stop on a
// non-finite loss that leaves the parameters as they were, and an optional EMA of the parameters.
// What differs between runs (checkpoints, logs, resume, progress) is the caller's, in `after`.
// The trainer, the feature network, the self-supervised encoder and the in-page live run share it.

import { cloneParams, type HostTensor, type ParamTree } from './host-tensor.js';
import { emaBeta, updateEma } from './optim.js';
import type { StepResult, TrainStep } from './train-step.js';

export class TrainingDiverged extends Error {
  override name = 'TrainingDiverged';
}

export interface TrainingLoopSettings {
  learningRate: (step: number) => number; // the rate of the update about to be applied (0-based step)
  what?: string; // names the run in errors (default 'training')
  advice?: string; // appended to the divergence error: what the caller can do about it
  /** Average the parameters (EDM's half-life in training images) after every update; absent: no average. */
  ema?: { halfLifeImages: number; batchSize: number; average?: ParamTree }; // `average`: a resumed one (default: a copy of the parameters)
}

export interface StepReport extends StepResult {
  step: number; // updates done, this one included
  lr: number;
}

export class TrainingLoop {
  /** The average of the parameters, when the settings ask for one. */
  readonly ema: ParamTree | undefined;
  private current: number;

  constructor(readonly trainStep: TrainStep, private readonly settings: TrainingLoopSettings, startStep = 0) {
    this.current = startStep;
    this.ema = settings.ema ? (settings.ema.average ?? cloneParams(trainStep.params)) : undefined;
  }

  /** Updates done so far (after a resume, counted from the start of the run). */
  get step(): number {
    return this.current;
  }

  /** One update on `feeds`; a non-finite loss or gradient is a TrainingDiverged and changes nothing. */
  async advance(feeds: Record<string, HostTensor>): Promise<StepReport> {
    const step = this.current;
    const lr = this.settings.learningRate(step);
    const result = await this.trainStep.step(feeds, lr);
    if (!Number.isFinite(result.loss) || !Number.isFinite(result.gradNorm)) {
      const advice = this.settings.advice ? ` ${this.settings.advice}` : '';
      throw new TrainingDiverged(`${this.settings.what ?? 'training'} diverged at step ${step}: loss ${result.loss}, gradient norm ${result.gradNorm}, learning rate ${lr}. The parameters were not updated.${advice}`);
    }
    const { ema } = this.settings;
    if (ema) updateEma(this.ema!, this.trainStep.params, emaBeta({ step, imagesSeen: step * ema.batchSize, batchSize: ema.batchSize }, { halfLifeImages: ema.halfLifeImages }));
    this.current++;
    return { ...result, step: this.current, lr };
  }

  /**
   * Advances until `steps` updates are done, on the feeds of each step; `after` sees every update and
   * returns true to stop early. Returns whether it stopped early and the last update's report.
   */
  async run(
    steps: number,
    feedsAt: (step: number) => Record<string, HostTensor> | Promise<Record<string, HostTensor>>,
    after?: (report: StepReport) => boolean | void | Promise<boolean | void>,
  ): Promise<{ stopped: boolean; last: StepReport | undefined }> {
    let last: StepReport | undefined;
    while (this.current < steps) {
      last = await this.advance(await feedsAt(this.current));
      if ((await after?.(last)) === true) return { stopped: true, last };
    }
    return { stopped: false, last };
  }
}
