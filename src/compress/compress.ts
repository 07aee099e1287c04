// A compressed student from a teacher, end to end: the student config (modules removed), its start
// from the teacher's weights, and distillation on the shared training loop, either in one shot or by
// progressive incubation (Deep Incubation's recipe, A-SDM's "progressive incubation"): each pruned
// stage first trains alone inside the frozen teacher, then the stages are assembled and the whole
// student is fine-tuned. Each phase is a training run of its own directory, so a stopped job
// resumes in the phase it was in; the student ends in the output directory itself.
//
// Layout of DIR: compress.json (the settings), incubate/<stage>/ (one run per pruned stage, with
// --schedule incubate), init/ (the student's start), and the final run: checkpoint/, log.jsonl.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../data/registry.js';
import { writeFileAtomic } from '../engine/atomic-write.js';
import { type RunFolderChoice, prepareRunFolder } from '../engine/run-folder.js';
import { loadCheckpoint, saveCheckpoint } from '../engine/checkpoint.js';
import { underPrefix } from '../engine/checkpoint-format.js';
import type { ParamTree } from '../engine/host-tensor.js';
import { createModel } from '../models/registry.js';
import type { UNet } from '../models/unet.js';
import type { TrainedModel } from '../pipeline/model-store.js';
import { TRAIN_DEFAULTS, type TrainConfig, type TrainResult, type TrainerCallbacks, checkpointDir, train } from '../train/trainer.js';
import { CompressError, type StudentCondConv, type StudentInit, requireUNet, studentConfig, studentParams } from './assemble.js';
import { stageOf } from './stage.js';
import { DISTILL_WEIGHTS, type DistillWeights, DistillSource } from './distill.js';
import { semanticNetworkFor } from './semantic.js';
import { EMA_PREFIX } from '../engine/state-names.js';

export type Schedule = 'oneshot' | 'incubate';
export const SCHEDULES: readonly Schedule[] = ['oneshot', 'incubate'];

export interface CompressSettings {
  teacher: string; // the teacher's checkpoint directory
  remove: string[]; // module paths the student leaves out
  init: StudentInit; // where kept layers start (see assemble.ts)
  condConv?: StudentCondConv; // conditional convolutions in place of plain ones, and where their experts start
  schedule: Schedule;
  incubateShare: number; // incubate: share of the steps spent on the stages (split equally between them); the rest fine-tunes the assembled student
  weights: DistillWeights;
  features?: string; // network of the semantic loss, a snippet encoder or a feature network; default: the encoder shipped for the data
  training: Pick<TrainConfig, 'steps' | 'batch' | 'lr' | 'warmup' | 'lrDecay' | 'clipGradNorm' | 'emaHalfLifeImages' | 'seed' | 'checkpointEvery' | 'logEvery'>;
}

export const COMPRESS_DEFAULTS: Omit<CompressSettings, 'teacher' | 'remove'> = {
  init: 'teacher',
  schedule: 'oneshot',
  incubateShare: 0.5, // Deep Incubation spends about as long on the modules as on the assembled fine-tune
  weights: { ...DISTILL_WEIGHTS },
  training: {
    steps: 2000, // a short distillation: the student starts from trained weights
    batch: 64,
    lr: 5e-4, // a fine-tune's rate, as reflow
    warmup: 50,
    lrDecay: 'linear', // ends cooled down, as the shipped teacher did
    clipGradNorm: 1,
    emaHalfLifeImages: 10_000, // short runs: about 150 steps of 64
    seed: 0,
    checkpointEvery: 100,
    logEvery: 10,
  },
};

/** One training run of the job. */
export interface Phase {
  name: string; // 'distill', 'incubate enc.1', 'assemble'
  dir: string;
  steps: number;
  /** Module paths removed in this phase's network (the stage's own, for an incubation phase). */
  removed: string[];
  /** Parameter prefix that trains in this phase; undefined: all of them. */
  trains?: string;
}

/** The runs of a job; a stage left with no parameter (e.g. the middle bypassed) has nothing to incubate. */
export function phasesOf(settings: CompressSettings, student: UNet, out: string): Phase[] {
  const { steps } = settings.training;
  if (settings.schedule === 'oneshot') return [{ name: 'distill', dir: out, steps, removed: settings.remove }];
  if (!(settings.incubateShare > 0 && settings.incubateShare < 1)) throw new CompressError(`the incubation share must be between 0 and 1, got ${settings.incubateShare}`);
  const kept = [...student.paramShapes().keys()];
  const stages = [...new Set(settings.remove.map(stageOf))].filter((stage) => kept.some((name) => name.startsWith(`${stage}.`)));
  if (stages.length === 0) throw new CompressError('no pruned stage keeps a parameter to incubate: use --schedule oneshot');
  const perStage = Math.floor((steps * settings.incubateShare) / stages.length);
  if (perStage < 1 || steps - perStage * stages.length < 1) throw new CompressError(`${steps} steps are too few to incubate ${stages.length} stage(s) and fine-tune`);
  return [
    ...stages.map((stage) => ({ name: `incubate ${stage}`, dir: join(out, 'incubate', stage), steps: perStage, removed: settings.remove.filter((p) => stageOf(p) === stage), trains: `${stage}.` })),
    { name: 'assemble', dir: out, steps: steps - perStage * stages.length, removed: settings.remove },
  ];
}

export interface CompressCallbacks extends TrainerCallbacks {
  onPhase?: (phase: Phase, index: number, total: number) => void;
}

export interface CompressResult {
  phases: (TrainResult & { name: string })[];
  stopped: boolean;
  student: UNet;
}

const SETTINGS_FILE = 'compress.json';

/** The settings a job was started with, for --resume. */
export function readCompressSettings(out: string): CompressSettings {
  const path = join(out, SETTINGS_FILE);
  if (!existsSync(path)) throw new CompressError(`--resume: no ${SETTINGS_FILE} in ${out}`);
  return JSON.parse(readFileSync(path, 'utf8')) as CompressSettings;
}

/** The EMA weights of a finished phase (its raw ones without an EMA). */
async function phaseWeights(dir: string): Promise<ParamTree> {
  const loaded = await loadCheckpoint(checkpointDir(dir));
  const ema = underPrefix(EMA_PREFIX, loaded.extra) as ParamTree;
  return ema.size > 0 ? ema : loaded.params;
}

async function stepOf(dir: string): Promise<number | undefined> {
  if (!existsSync(join(checkpointDir(dir), 'checkpoint.json'))) return undefined;
  return (await loadCheckpoint(checkpointDir(dir))).step ?? 0;
}

/** Runs (or resumes) the job into `out`. */
export async function compress(teacher: TrainedModel, settings: CompressSettings, out: string, { resume = false, overwrite = false, callbacks = {} }: RunFolderChoice & { callbacks?: CompressCallbacks } = {}): Promise<CompressResult> {
  const teacherNet = requireUNet(teacher.model, `the teacher '${teacher.name}'`);
  const student = createModel(studentConfig(teacherNet.config, settings.remove, settings.condConv)) as UNet;
  // Any run there (a compression job, or a training run's checkpoint/ and log) is kept unless asked otherwise.
  prepareRunFolder({ dir: out, what: 'a run', files: [SETTINGS_FILE, 'checkpoint', 'log.jsonl', 'incubate'] }, { resume, overwrite });
  const dataset = openDataset(teacher.config.data, { resolution: teacher.config.resolution });
  // Loaded before anything is written, so that a missing or wrong network leaves the folder as it was.
  const semanticNet = settings.weights.semantic > 0 ? await semanticNetworkFor(dataset, settings.features) : undefined;
  const phases = phasesOf(settings, student, out);
  const results: CompressResult['phases'] = [];
  const trained = new Map<string, ParamTree>(); // stage weights of finished incubation phases
  try {
    mkdirSync(out, { recursive: true });
    if (!resume) await writeFileAtomic(join(out, SETTINGS_FILE), `${JSON.stringify(settings, null, 2)}\n`);
    for (const [index, phase] of phases.entries()) {
      // An incubated stage gains only its own conditional convolutions; the rest of its network is the teacher's.
      const condConv = settings.condConv && { ...settings.condConv, layers: settings.condConv.layers.filter((layer) => !phase.trains || layer.startsWith(phase.trains)) };
      const network = createModel(studentConfig(teacherNet.config, phase.removed, condConv)) as UNet;
      const config: TrainConfig = {
        ...TRAIN_DEFAULTS,
        ...settings.training,
        steps: phase.steps,
        seed: settings.training.seed + index, // each phase its own batches
        data: teacher.config.data,
        resolution: teacher.config.resolution,
        model: network.config,
        objective: teacher.config.objective,
        cond: teacher.config.cond,
        labelDropout: teacher.config.labelDropout,
        init: join(phase.dir, 'init'),
      };
      const done = await stepOf(phase.dir);
      if (done !== undefined && done >= phase.steps) {
        if (phase.trains) trained.set(phase.trains, await phaseWeights(phase.dir));
        results.push({ name: phase.name, step: done, stopped: false, lastLoss: NaN, imagesPerSecond: 0 });
        continue;
      }
      callbacks.onPhase?.(phase, index, phases.length);
      if (done === undefined) {
        const start = studentParams(teacherNet, teacher.params, network, settings.init, settings.condConv?.init, settings.training.seed);
        // The assembled student takes every incubated stage's trained weights.
        for (const [prefix, weights] of trained) for (const [name, t] of weights) if (name.startsWith(prefix) && start.has(name)) start.set(name, { ...t, data: t.data.slice() });
        await saveCheckpoint(config.init!, { params: start, config: { ...config, dataShape: dataset.shape, classNames: dataset.classNames ?? null }, step: 0 });
      }
      const source = new DistillSource(config, dataset, { model: teacherNet, params: teacher.params }, network, settings.weights, semanticNet);
      let result: TrainResult;
      try {
        result = await train(config, phase.dir, { resume: done !== undefined, callbacks, source, ...(phase.trains && { trainable: (name: string) => name.startsWith(phase.trains!) }) });
      } finally {
        await source.dispose();
      }
      results.push({ name: phase.name, ...result });
      if (result.stopped) return { phases: results, stopped: true, student };
      if (phase.trains) trained.set(phase.trains, await phaseWeights(phase.dir));
    }
  } finally {
    await semanticNet?.dispose();
  }
  return { phases: results, stopped: false, student };
}
