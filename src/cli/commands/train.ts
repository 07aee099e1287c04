// `hasten train`: trains a diffusion model on a dataset and writes checkpoints, a JSONL log and the
// settings needed to sample it. Ctrl-C saves a checkpoint; --resume continues exactly.

import { existsSync, readFileSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { type OptionValues, choice, flag, int, json, num, text, UsageError } from '../options.js';
import { openDataset } from '../../data/registry.js';
import { ARCHITECTURES } from '../../models/registry.js';
import { resolveModel } from '../../pipeline/model-store.js';
import { CONDITIONINGS, modelConfigForData } from '../../train/model-for-data.js';
import { OBJECTIVE_DEFAULTS, objectiveNames, objectiveSettings } from '../../train/objectives.js';
import { LR_DECAYS, TRAIN_DEFAULTS, type TrainConfig, train, checkpointDir, resumedTrainConfig } from '../../train/trainer.js';
import { trainingProgress } from '../progress.js';
import { modelName } from '../sampling.js';
import { stoppable } from '../stoppable.js';
import { memorySource, memoryTrainingOptions, memoryTrainingSettings } from '../memory.js';

function parseArchSettings(raw: string): Record<string, unknown> {
  const content = existsSync(raw) ? readFileSync(raw, 'utf8') : raw;
  try {
    const value = JSON.parse(content) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`--arch-config expects a JSON object or a JSON file, got '${raw}' (${(error as Error).message})`);
  }
}

/** Options that resuming may change, and the setting each sets. */
const RESUMABLE_OPTIONS: Record<string, keyof TrainConfig> = { steps: 'steps', 'checkpoint-every': 'checkpointEvery' };
/** Options that only say how to run the command. */
const COMMAND_OPTIONS = new Set(['out', 'resume', 'json']);

/**
 * What --resume continues: DIR's saved settings, with --steps and --checkpoint-every when given
 * (without --steps, the saved target). Any other option given must agree with the saved run:
 * `settings` maps the options that are plain settings of the run to their field; the rest cannot
 * be given with --resume. Every disagreement is named in one error.
 */
export async function resumedConfig<C extends TrainConfig>(out: string, values: Record<string, unknown>, given: ReadonlySet<string>, settings: Record<string, string>): Promise<C> {
  const saved = await resumedTrainConfig<C>(out);
  const savedSettings = saved as unknown as Record<string, unknown>;
  const differing: string[] = [];
  const fixed: string[] = [];
  for (const option of given) {
    if (COMMAND_OPTIONS.has(option) || option in RESUMABLE_OPTIONS) continue;
    const field = settings[option];
    if (field === undefined) fixed.push(`--${option}`);
    else if (JSON.stringify(values[option]) !== JSON.stringify(savedSettings[field])) differing.push(`--${option} ${String(values[option])} (saved ${String(savedSettings[field])})`);
  }
  if (differing.length > 0 || fixed.length > 0) {
    const problems = [
      ...(differing.length > 0 ? [`${differing.join(', ')} differ${differing.length === 1 ? 's' : ''} from the saved run`] : []),
      ...(fixed.length > 0 ? [`${fixed.join(', ')} cannot change in a resumed run`] : []),
    ];
    throw new UsageError(`${out}: ${problems.join('; ')}. With --resume only --steps and --checkpoint-every may change; start a new run (another --out, or --overwrite) to change the others`);
  }
  const changes = Object.fromEntries(Object.entries(RESUMABLE_OPTIONS).filter(([option]) => given.has(option)).map(([option, field]) => [field, values[option]]));
  return { ...saved, ...changes };
}

/**
 * For runs resumed from a settings file (compress, gmem train-encoder): every option given with
 * --resume other than `mayChange` and the command options is an error naming each, never ignored.
 */
export function refuseResumeOptions(out: string, given: ReadonlySet<string>, mayChange: readonly string[], savedIn: string): void {
  const fixed = [...given].filter((option) => !COMMAND_OPTIONS.has(option) && option !== 'overwrite' && !mayChange.includes(option));
  if (fixed.length === 0) return;
  const changeable = mayChange.length > 0 ? ` (only ${mayChange.map((o) => `--${o}`).join(', ')} may change)` : '';
  throw new UsageError(`${out}: ${fixed.map((o) => `--${o}`).join(', ')} cannot be given with --resume: the run continues with the settings in its ${savedIn}${changeable}; start a new run (another --out, or --overwrite) to change them`);
}

/** The schedule options as the TrainConfig fields they set. */
export const SCHEDULE_SETTINGS = { steps: 'steps', batch: 'batch', lr: 'lr', warmup: 'warmup', 'lr-decay': 'lrDecay', 'ema-half-life': 'emaHalfLifeImages', 'checkpoint-every': 'checkpointEvery' } as const;

/** The schedule options train and reflow train share. */
export const scheduleOptions = {
  steps: int({ placeholder: 'N', min: 1, default: TRAIN_DEFAULTS.steps, description: 'optimizer steps' }),
  batch: int({ placeholder: 'B', min: 1, default: TRAIN_DEFAULTS.batch, description: 'samples per step' }),
  lr: num({ placeholder: 'LR', min: 0, default: TRAIN_DEFAULTS.lr, description: 'peak learning rate' }),
  warmup: int({ placeholder: 'N', min: 0, default: TRAIN_DEFAULTS.warmup, description: 'learning-rate warm-up steps' }),
  'lr-decay': choice(LR_DECAYS, { placeholder: 'KIND', default: TRAIN_DEFAULTS.lrDecay, description: 'after warm-up' }),
  'ema-half-life': num({ placeholder: 'IMAGES', min: 0, default: TRAIN_DEFAULTS.emaHalfLifeImages, description: 'EMA half-life in training samples' }),
  'checkpoint-every': int({ placeholder: 'N', min: 1, default: TRAIN_DEFAULTS.checkpointEvery, description: 'steps between checkpoints' }),
  out: text({ placeholder: 'DIR', required: true, description: 'output directory (checkpoint/, log.jsonl)' }),
  resume: flag({ description: "continue DIR's run with its saved settings (to its saved target unless --steps is given)" }),
  overwrite: flag({ description: 'replace the run DIR holds (its checkpoint and log) with a new one' }),
  json: json('print a JSON summary at the end'),
};

/** The schedule values as TrainConfig fields. */
export function scheduleSettings(values: OptionValues<typeof scheduleOptions>): Pick<TrainConfig, (typeof SCHEDULE_SETTINGS)[keyof typeof SCHEDULE_SETTINGS]> {
  return Object.fromEntries(Object.entries(SCHEDULE_SETTINGS).map(([option, field]) => [field, values[option as keyof typeof SCHEDULE_SETTINGS]])) as Pick<TrainConfig, (typeof SCHEDULE_SETTINGS)[keyof typeof SCHEDULE_SETTINGS]>;
}

export const trainCommand = defineCommand({
  path: ['train'],
  summary: 'train a diffusion model (U-Net, DiT or MLP) on a dataset',
  // --model names a model (a shipped name or a path) in every command; the architecture has its own name.
  renamed: {
    model: `use --arch ARCH (${ARCHITECTURES.join(', ')}) for the architecture; --model names a trained model, and --init NAME|PATH starts from one`,
    'model-config': 'use --arch-config JSON (the settings of --arch)',
  },
  options: {
    data: text({ placeholder: 'NAME', description: 'dataset: shapes, toy2d:two-moons, gmm:FILE, folder:PATH, ... (required unless --resume)' }),
    arch: choice(ARCHITECTURES, { placeholder: 'ARCH', default: 'unet', description: 'architecture' }),
    'arch-config': text({ placeholder: 'JSON', parse: parseArchSettings, description: 'architecture settings as a JSON object or file, e.g. {"baseChannels":48}' }),
    objective: text({ placeholder: 'NAME', default: 'edm', parse: (raw: string) => objectiveSettings(raw).name, description: `training objective: ${objectiveNames.join(', ')}` }),
    cond: choice(CONDITIONINGS, { placeholder: 'KIND', default: 'none', description: 'conditioning' }),
    resolution: int({ placeholder: 'R', min: 4, description: 'image side for datasets that take one (shapes, folder)' }),
    seed: int({ placeholder: 'S', min: 0, default: 0, description: 'seed of initialisation, data order and noise' }),
    init: modelName('init', { description: "start from this model's parameters (its EMA when it has one) instead of a fresh initialisation" }),
    'p-mean': num({ placeholder: 'M', default: OBJECTIVE_DEFAULTS.pMean, description: 'EDM objective: mean of log sigma during training' }),
    'p-std': num({ placeholder: 'S', min: 0, default: OBJECTIVE_DEFAULTS.pStd, description: 'EDM objective: standard deviation of log sigma during training' }),
    'rf-time': choice(['uniform', 'logit-normal'], { placeholder: 'KIND', default: OBJECTIVE_DEFAULTS.rfTime, description: 'rf objective: distribution of t during training (logit-normal as SD3 and GMem)' }),
    'snapshot-every': int({ placeholder: 'N', min: 0, default: 0, description: 'keep the EMA weights every N steps in DIR/snapshots/step-N (quality against training images); 0: none' }),
    ...memoryTrainingOptions,
    ...scheduleOptions,
  },
  details: 'Example: hasten train --data shapes --arch unet --objective edm --cond class --steps 4000 --batch 64 --out runs/shapes',
  async run(values, _positionals, given) {
    const { out } = values;
    let config: TrainConfig;
    if (values.resume) {
      config = await resumedConfig<TrainConfig>(out, values, given, { ...SCHEDULE_SETTINGS, data: 'data', cond: 'cond', resolution: 'resolution', seed: 'seed' });
    } else {
      if (values.data === undefined) throw new UsageError('--data NAME is required');
      const dataset = openDataset(values.data, { resolution: values.resolution });
      const memory = await memoryTrainingSettings(values, values.cond);
      config = {
        ...TRAIN_DEFAULTS,
        data: values.data,
        resolution: values.resolution,
        model: modelConfigForData(dataset, values.arch, values.cond, { ...memory.model, ...values['arch-config'] }),
        objective: objectiveSettings(values.objective, { pMean: values['p-mean'], pStd: values['p-std'], rfTime: values['rf-time'] }),
        cond: values.cond,
        ...scheduleSettings(values),
        seed: values.seed,
        init: values.init === undefined ? undefined : resolveModel(values.init).location,
        labelDropout: values['label-dropout'],
        snapshotEvery: values['snapshot-every'],
        ...(memory.bank && { bank: { ...memory.bank } }),
      };
    }
    const source = await memorySource(config);
    const progress = trainingProgress('train');
    const result = await stoppable('train: stopping after this step and saving a checkpoint', (shouldStop) => train(config, out, { resume: values.resume, overwrite: values.overwrite, callbacks: { ...progress, shouldStop }, source }).finally(progress.finish));
    const summary = { out, step: result.step, steps: config.steps, stopped: result.stopped, loss: result.lastLoss, images_per_second: result.imagesPerSecond };
    if (values.json) console.log(JSON.stringify(summary));
    else console.log(`${result.stopped ? 'stopped' : 'finished'} at step ${result.step}/${config.steps}; checkpoint in ${checkpointDir(out)} (${result.imagesPerSecond.toFixed(1)} samples/s)`);
  },
});
