// `hasten train`: trains a diffusion model on a dataset and writes checkpoints, a JSONL log and the
// settings needed to sample it. Ctrl-C saves a checkpoint; --resume continues exactly.

import { existsSync, readFileSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { type OptionValues, choice, flag, int, json, num, text, UsageError } from '../options.js';
import { openDataset } from '../../data/registry.js';
import { loadCheckpoint } from '../../engine/checkpoint.js';
import { ARCHITECTURES } from '../../models/registry.js';
import { resolveModelLocation } from '../../pipeline/model-store.js';
import { CONDITIONINGS, modelConfigForData } from '../../train/model-for-data.js';
import { OBJECTIVE_DEFAULTS, objectiveNames, objectiveSettings } from '../../train/objectives.js';
import { LR_DECAYS, TRAIN_DEFAULTS, type TrainConfig, train, checkpointDir } from '../../train/trainer.js';
import { trainingProgress } from '../progress.js';
import { stoppable } from '../stoppable.js';

function parseModelSettings(raw: string): Record<string, unknown> {
  const content = existsSync(raw) ? readFileSync(raw, 'utf8') : raw;
  try {
    const value = JSON.parse(content) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`--model-config expects a JSON object or a JSON file, got '${raw}' (${(error as Error).message})`);
  }
}

/** The settings saved in DIR's checkpoint, with the step count raised to `steps`: what --resume continues. */
export async function resumedConfig<C extends { steps: number }>(out: string, steps: number): Promise<C> {
  if (!existsSync(checkpointDir(out))) throw new UsageError(`--resume: no checkpoint in ${checkpointDir(out)}`);
  const saved = (await loadCheckpoint(checkpointDir(out))).config as unknown as C;
  return { ...saved, steps: Math.max(saved.steps, steps) };
}

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
  resume: flag({ description: "continue from DIR's checkpoint with its saved settings" }),
  json: json('print a JSON summary at the end'),
};

/** The schedule values as TrainConfig fields. */
export function scheduleSettings(values: OptionValues<typeof scheduleOptions>): Pick<TrainConfig, 'steps' | 'batch' | 'lr' | 'warmup' | 'lrDecay' | 'emaHalfLifeImages' | 'checkpointEvery'> {
  return { steps: values.steps, batch: values.batch, lr: values.lr, warmup: values.warmup, lrDecay: values['lr-decay'], emaHalfLifeImages: values['ema-half-life'], checkpointEvery: values['checkpoint-every'] };
}

export const trainCommand = defineCommand({
  path: ['train'],
  summary: 'train a diffusion model (U-Net, DiT or MLP) on a dataset',
  options: {
    data: text({ placeholder: 'NAME', description: 'dataset: shapes, toy2d:two-moons, gmm:FILE, folder:PATH, ... (required unless --resume)' }),
    model: choice(ARCHITECTURES, { placeholder: 'ARCH', default: 'unet', description: 'architecture' }),
    'model-config': text({ placeholder: 'JSON', parse: parseModelSettings, description: 'model settings as a JSON object or file, e.g. {"baseChannels":48}' }),
    objective: text({ placeholder: 'NAME', default: 'edm', parse: (raw: string) => objectiveSettings(raw).name, description: `training objective: ${objectiveNames.join(', ')}` }),
    cond: choice(CONDITIONINGS, { placeholder: 'KIND', default: 'none', description: 'conditioning' }),
    resolution: int({ placeholder: 'R', min: 4, description: 'image side for datasets that take one (shapes, folder)' }),
    seed: int({ placeholder: 'S', min: 0, default: 0, description: 'seed of initialisation, data order and noise' }),
    init: text({ placeholder: 'NAME|DIR', parse: resolveModelLocation, description: "start from this model's parameters (a shipped model, a run or a checkpoint directory), its EMA when it has one, instead of a fresh initialisation" }),
    'p-mean': num({ placeholder: 'M', default: OBJECTIVE_DEFAULTS.pMean, description: 'EDM objective: mean of log sigma during training' }),
    'p-std': num({ placeholder: 'S', min: 0, default: OBJECTIVE_DEFAULTS.pStd, description: 'EDM objective: standard deviation of log sigma during training' }),
    ...scheduleOptions,
  },
  details: 'Example: hasten train --data shapes --model unet --objective edm --cond class --steps 4000 --batch 64 --out runs/shapes',
  async run(values) {
    const { out } = values;
    let config: TrainConfig;
    if (values.resume) {
      config = await resumedConfig<TrainConfig>(out, values.steps);
    } else {
      if (values.data === undefined) throw new UsageError('--data NAME is required');
      const dataset = openDataset(values.data, { resolution: values.resolution });
      config = {
        ...TRAIN_DEFAULTS,
        data: values.data,
        resolution: values.resolution,
        model: modelConfigForData(dataset, values.model, values.cond, values['model-config']),
        objective: objectiveSettings(values.objective, { pMean: values['p-mean'], pStd: values['p-std'] }),
        cond: values.cond,
        ...scheduleSettings(values),
        seed: values.seed,
        init: values.init,
      };
    }
    const progress = trainingProgress('train');
    const result = await stoppable('train: stopping after this step and saving a checkpoint', (shouldStop) => train(config, out, { resume: values.resume, callbacks: { ...progress, shouldStop } }).finally(progress.finish));
    const summary = { out, step: result.step, steps: config.steps, stopped: result.stopped, loss: result.lastLoss, images_per_second: result.imagesPerSecond };
    if (values.json) console.log(JSON.stringify(summary));
    else console.log(`${result.stopped ? 'stopped' : 'finished'} at step ${result.step}/${config.steps}; checkpoint in ${checkpointDir(out)} (${result.imagesPerSecond.toFixed(1)} samples/s)`);
  },
});
