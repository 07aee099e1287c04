// `hasten train`: trains a diffusion model on a dataset and writes checkpoints, a JSONL log and the
// settings needed to sample it. Ctrl-C saves a checkpoint; --resume continues exactly.

import { existsSync, readFileSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { choice, int, num, text, UsageError } from '../options.js';
import { openDataset } from '../../data/registry.js';
import { ARCHITECTURES } from '../../models/registry.js';
import { resolveModel } from '../../pipeline/model-store.js';
import { CONDITIONINGS, modelConfigForData } from '../../train/model-for-data.js';
import { OBJECTIVE_DEFAULTS, objectiveNames, objectiveSettings } from '../../train/objectives.js';
import { TRAIN_DEFAULTS, type TrainConfig, train, checkpointDir } from '../../train/trainer.js';
import { trainingProgress } from '../progress.js';
import { modelName } from '../sampling.js';
import { stoppable } from '../stoppable.js';
import { memorySource, memoryTrainingOptions, memoryTrainingSettings } from '../memory.js';
import { SCHEDULE_SETTINGS, resumedConfig, scheduleOptions, scheduleSettings } from '../training.js';

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
    ...scheduleOptions(),
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
