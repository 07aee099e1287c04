// The training loop: deterministic batches and noise per step, a compiled training step, EMA,
// atomic checkpoints every N steps and on request (Ctrl-C), exact resume, a JSONL log, and progress
// reported through callbacks (the CLI draws the bar).
// A non-finite loss stops training with a diagnostic and leaves the last good checkpoint in place.

import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostTensor, ParamTree } from '../engine/host-tensor.js';
import { cloneParams } from '../engine/host-tensor.js';
import { loadCheckpoint, saveCheckpoint } from '../engine/checkpoint.js';
import { underPrefix, withPrefix } from '../engine/checkpoint-format.js';
import { writeFileAtomic } from '../engine/atomic-write.js';
import { type RunFolder, type RunFolderChoice, RunFolderError, checkResumedSettings, prepareRunFolder } from '../engine/run-folder.js';
import { ModuleContext, cacheName } from '../models/module-context.js';
import { TrainStep } from '../engine/train-step.js';
import { learningRateSchedule } from '../engine/optim.js';
import { TrainingLoop } from '../engine/training-loop.js';
import { openDataset } from '../data/registry.js';
import { createModel, type ModelConfig } from '../models/registry.js';
import { initParams, checkParams } from '../models/init.js';
import type { ObjectiveSettings } from './objectives.js';
import { type BatchSource, objectiveSource } from './batch-source.js';
import type { ConditioningKind } from './model-for-data.js';
import { EMA_PREFIX, OPTIMIZER_STATE_PREFIX } from '../engine/state-names.js';

export const LR_DECAYS = ['constant', 'cosine', 'linear'] as const;
export type LrDecay = (typeof LR_DECAYS)[number];

export interface TrainConfig {
  data: string; // dataset spec, e.g. 'shapes' or 'toy2d:two-moons'
  resolution?: number; // image side for image datasets that take one
  model: ModelConfig; // resolved model config
  objective: ObjectiveSettings;
  cond: ConditioningKind; // what the model is conditioned on ('memory': GMem snippets of a bank; see src/gmem/training.ts)
  steps: number; // total optimizer steps
  batch: number; // samples per step
  lr: number; // peak learning rate
  warmup: number; // linear warm-up steps
  lrDecay: LrDecay; // shape of the learning rate after warm-up
  clipGradNorm: number; // global gradient-norm clip; 0 turns it off
  emaHalfLifeImages: number; // EMA half-life in training images (EDM style, with ramp-up)
  labelDropout: number; // probability of replacing the condition by the null condition, for classifier-free guidance
  seed: number; // seeds initialisation, data order and noise
  init?: string; // start from this checkpoint's parameters (its EMA when present): a fine-tune
  checkpointEvery: number; // steps between checkpoints
  snapshotEvery?: number; // steps between kept copies of the EMA weights in out/snapshots/step-<N> (a quality-vs-images curve); absent or 0: none
  logEvery: number; // steps between JSONL log lines
  /** Train on the images of a memory bank (and, with cond 'memory', on their snippets): settings read by src/gmem/training.ts. */
  bank?: Record<string, unknown>;
}

export const TRAIN_DEFAULTS: Omit<TrainConfig, 'data' | 'model' | 'objective'> = {
  cond: 'none',
  steps: 1000, // a short run; shipped models document their own
  batch: 64, // fits comfortably in memory for 32x32 U-Nets
  lr: 1e-3, // Adam's customary rate; EDM uses 1e-3 on CIFAR-10
  warmup: 200, // avoids the early blow-ups of Adam with zero-initialised moments
  lrDecay: 'constant', // EDM keeps the rate constant
  clipGradNorm: 1, // guards short runs against rare large gradients
  emaHalfLifeImages: 20_000, // scaled down from EDM's 500k images to runs of ~1M images
  labelDropout: 0.1, // classifier-free guidance's usual rate
  seed: 0,
  checkpointEvery: 500,
  logEvery: 10,
};

export interface TrainerCallbacks {
  /** Told once before the first step: the step the run starts from (after a resume, not 0) and its last step. */
  onStart?: (startStep: number, steps: number) => void;
  /** After every step, with the steps done so far. */
  onStep?: (step: number, figures: { loss: number; lr: number }) => void;
  /** Each entry as it is written to log.jsonl. */
  onLog?: (entry: Record<string, number>) => void;
  /** Checked after every step: return true to checkpoint and stop (Ctrl-C). */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  step: number;
  stopped: boolean;
  lastLoss: number;
  imagesPerSecond: number;
}


export function checkpointDir(out: string): string {
  return join(out, 'checkpoint');
}

/** What resuming may change: the step target (to extend a run) and how often it saves and logs. */
export const RESUMABLE_SETTINGS: readonly (keyof TrainConfig)[] = ['steps', 'checkpointEvery', 'logEvery'];

/** A training output folder: its checkpoint and its log. */
export const trainingRunFolder = (out: string): RunFolder => ({ dir: out, what: 'a training run', files: ['checkpoint', 'log.jsonl'] });

/** The settings a run in `out` was saved with, as train() takes them. */
export async function savedTrainConfig<C extends TrainConfig = TrainConfig>(out: string): Promise<C & { step: number }> {
  const loaded = await loadCheckpoint(checkpointDir(out));
  const { dataShape: _shape, classNames: _names, ...config } = loaded.config;
  return { ...(config as unknown as C), step: loaded.step ?? 0 };
}

/**
 * The saved settings of the run in `out` with `changes` applied: what a resumed run continues with.
 * Without a step target it continues to the saved one; changes outside RESUMABLE_SETTINGS that
 * differ from the saved values are an error naming each.
 */
export async function resumedTrainConfig<C extends TrainConfig = TrainConfig>(out: string, changes: Partial<C> = {}): Promise<C> {
  prepareRunFolder(trainingRunFolder(out), { resume: true });
  const { step: _step, ...saved } = await savedTrainConfig<C>(out);
  const resumed = { ...saved, ...changes } as unknown as C;
  checkResumedSettings(out, saved, resumed, RESUMABLE_SETTINGS);
  return resumed;
}

/**
 * Drops the log entries past the step training starts from: a run killed without Ctrl-C logged
 * steps that its last checkpoint never saw, and the resumed run logs them again. A line cut short
 * by the kill goes too.
 */
async function trimLog(logPath: string, startStep: number): Promise<void> {
  if (!existsSync(logPath)) return;
  const loggedStep = (line: string): number => {
    try {
      return (JSON.parse(line) as { step: number }).step;
    } catch {
      return Infinity;
    }
  };
  const lines = readFileSync(logPath, 'utf8').split('\n').filter((line) => line.trim() !== '');
  const kept = lines.filter((line) => loggedStep(line) <= startStep);
  if (kept.length < lines.length) await writeFileAtomic(logPath, kept.map((line) => `${line}\n`).join(''));
}

/** Where the EMA weights of step `step` are kept: a checkpoint any command that takes a model reads. */
export const snapshotDir = (out: string, step: number): string => join(out, 'snapshots', `step-${step}`);

async function saveSnapshot(out: string, step: number, ema: ParamTree, config: object): Promise<void> {
  await saveCheckpoint(snapshotDir(out, step), { params: ema, config, step });
}

export interface TrainOptions extends RunFolderChoice {
  callbacks?: TrainerCallbacks;
  source?: BatchSource; // default: the config's objective on its dataset
  /** Which model parameters train; the others stay at their starting values (default: all train). */
  trainable?: (name: string) => boolean;
}

/** Trains (or resumes) into `out`; the checkpoint holds everything needed to sample. */
export async function train(config: TrainConfig, out: string, { resume = false, overwrite = false, callbacks = {}, source, trainable }: TrainOptions = {}): Promise<TrainResult> {
  prepareRunFolder(trainingRunFolder(out), { resume, overwrite });
  const ckpt = checkpointDir(out);
  if (resume) {
    // The run continues with its own settings: see resumedTrainConfig for building them.
    const { step: savedStep, ...saved } = await savedTrainConfig(out);
    checkResumedSettings(out, saved, config, RESUMABLE_SETTINGS);
    if (config.steps < savedStep) throw new RunFolderError(`${out} is already at step ${savedStep}, past the target of ${config.steps} steps`);
  }
  const dataset = openDataset(config.data, { resolution: config.resolution });
  const batches = source ?? objectiveSource(config, dataset);
  const model = createModel(config.model);
  mkdirSync(out, { recursive: true });

  let params: ParamTree = initParams(model, config.seed);
  let ema: ParamTree | undefined;
  let startStep = 0;
  let restoredOptimizer: Map<string, HostTensor> | undefined;
  if (config.init && !resume) {
    // A fine-tune starts from the averaged weights when the run kept them: they are the better model.
    const start = await loadCheckpoint(config.init);
    const averaged = underPrefix(EMA_PREFIX, start.extra) as ParamTree;
    params = averaged.size > 0 ? averaged : start.params;
    checkParams(model, params, start.files.weights);
  }
  if (resume) {
    const loaded = await loadCheckpoint(ckpt);
    checkParams(model, loaded.params, loaded.files.weights);
    params = loaded.params;
    ema = underPrefix(EMA_PREFIX, loaded.extra) as ParamTree;
    restoredOptimizer = underPrefix(OPTIMIZER_STATE_PREFIX, loaded.extra);
    startStep = loaded.step ?? 0;
  }

  const fixed: ParamTree = new Map([...params].filter(([name]) => trainable && !trainable(name)));
  const trained: ParamTree = new Map([...params].filter(([name]) => !fixed.has(name)));
  if (trained.size === 0) throw new Error('no parameter of the model trains: the trainable filter matched none');
  const step = new TrainStep(trained, (graph, inputs) => {
    const ctx = new ModuleContext(graph, { capture: batches.capture });
    const output = model.forward(ctx, { x: inputs.x!, noise: inputs.noise!, label: inputs.label, caption: inputs.caption, condVector: inputs.condVector });
    return batches.loss(output, inputs, new Map([...(batches.capture ?? [])].map((path) => [path, ctx.captured.get(cacheName(path))!])));
  }, { clipGradNorm: config.clipGradNorm, frozen: new Map([...fixed, ...(batches.frozen ?? [])]) });
  if (restoredOptimizer) step.loadStateTensors(restoredOptimizer, ckpt);
  if (!ema || ema.size === 0) ema = cloneParams(step.params);
  for (const name of fixed.keys()) ema.delete(name);

  const schedule = learningRateSchedule({ peak: config.lr, warmupSteps: config.warmup, decay: config.lrDecay, totalSteps: Math.max(config.steps, config.warmup + 1) });
  const save = async (at: number): Promise<void> => {
    const extra = new Map([...withPrefix(EMA_PREFIX, new Map([...fixed, ...ema!])), ...withPrefix(OPTIMIZER_STATE_PREFIX, step.stateTensors())]);
    await saveCheckpoint(ckpt, { params: new Map([...fixed, ...step.params]), config: { ...config, dataShape: dataset.shape, classNames: dataset.classNames ?? null }, extra, step: at });
  };

  callbacks.onStart?.(startStep, config.steps);
  const logPath = join(out, 'log.jsonl');
  await trimLog(logPath, startStep);
  const loop = new TrainingLoop(step, {
    learningRate: schedule,
    advice: `The last good checkpoint is in ${ckpt}. Try a lower --lr or a longer warm-up.`,
    ema: { halfLifeImages: config.emaHalfLifeImages, batchSize: config.batch, average: ema },
  }, startStep);
  const started = performance.now();
  let outcome: Awaited<ReturnType<TrainingLoop['run']>>;
  try {
    outcome = await loop.run(config.steps, (at) => batches.feeds(at), async ({ step: current, loss, metrics, gradNorm, lr }) => {
      if (current % config.logEvery === 0 || current === config.steps) {
        const entry = { step: current, loss, ...metrics, grad_norm: gradNorm, lr, seconds: (performance.now() - started) / 1000 };
        appendFileSync(logPath, `${JSON.stringify(entry)}\n`);
        callbacks.onLog?.(entry);
      }
      callbacks.onStep?.(current, { loss, lr });
      const stopRequested = callbacks.shouldStop?.() ?? false;
      if (current % config.checkpointEvery === 0 || current === config.steps || stopRequested) await save(current);
      if (config.snapshotEvery && current % config.snapshotEvery === 0) await saveSnapshot(out, current, new Map([...fixed, ...ema!]), { ...config, dataShape: dataset.shape, classNames: dataset.classNames ?? null });
      return stopRequested;
    });
  } finally {
    await step.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  return { step: loop.step, stopped: outcome.stopped, lastLoss: outcome.last?.loss ?? NaN, imagesPerSecond: ((loop.step - startStep) * config.batch) / Math.max(seconds, 1e-9) };
}
