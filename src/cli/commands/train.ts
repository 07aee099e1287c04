// `hasten train`: trains a diffusion model on a dataset and writes checkpoints, a JSONL log and the
// settings needed to sample it. Ctrl-C saves a checkpoint; --resume continues exactly.

import { existsSync, readFileSync } from 'node:fs';
import { type Command, UsageError, parseNumber } from '../command.js';
import { openDataset } from '../../data/registry.js';
import { ARCHITECTURES, createModel, resolveModelConfig } from '../../models/registry.js';
import { OBJECTIVE_DEFAULTS, objectiveNames, objectiveSettings } from '../../train/objectives.js';
import { type BatchSource, TRAIN_DEFAULTS, type TrainConfig, train, checkpointDir } from '../../train/trainer.js';
import { loadCheckpoint } from '../../engine/checkpoint.js';
import { BankError } from '../../gmem/bank.js';
import { MEMORY_TRAINING_DEFAULTS, bankSource, memoryModelSettings, openBankParts } from '../../gmem/training.js';

/** The batches of a run on a memory bank (a bad bank is a usage error). */
async function memorySource(config: TrainConfig): Promise<BatchSource> {
  try {
    const parts = await openBankParts(config);
    const model = createModel(config.model);
    return bankSource(config, { ...parts, tokenSide: 'tokenSide' in model ? model.tokenSide : undefined });
  } catch (error) {
    if (error instanceof BankError) throw new UsageError(error.message);
    throw error;
  }
}

const CAPTION_TOKENS = 12;

function parseModelSettings(raw: string | boolean | undefined): Record<string, unknown> {
  if (typeof raw !== 'string') return {};
  const text = existsSync(raw) ? readFileSync(raw, 'utf8') : raw;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`--model-config expects a JSON object or a JSON file, got '${raw}' (${(error as Error).message})`);
  }
}

/** The checkpoint directory of --init: a training output directory or a checkpoint directory. */
function initLocation(raw: string): string {
  for (const dir of [checkpointDir(raw), raw]) if (existsSync(`${dir}/checkpoint.json`)) return dir;
  throw new UsageError(`--init: no checkpoint.json in ${raw} or ${checkpointDir(raw)}`);
}

/** The settings saved in DIR's checkpoint, with the step count raised to --steps: what --resume continues. */
export async function resumedConfig<C extends { steps: number }>(out: string, rawSteps: string | boolean | undefined): Promise<C> {
  if (!existsSync(checkpointDir(out))) throw new UsageError(`--resume: no checkpoint in ${checkpointDir(out)}`);
  const saved = (await loadCheckpoint(checkpointDir(out))).config as unknown as C;
  return { ...saved, steps: Math.max(saved.steps, parseNumber('steps', rawSteps, { integer: true, min: 1 })!) };
}

export const trainCommand: Command = {
  path: ['train'],
  summary: 'train a diffusion model (U-Net, DiT or MLP) on a dataset',
  options: {
    data: { type: 'string', placeholder: 'NAME', description: 'dataset: shapes, toy2d:two-moons, gmm:FILE, folder:PATH, ...' },
    model: { type: 'string', placeholder: 'ARCH', description: `architecture: ${ARCHITECTURES.join(', ')}`, default: 'unet' },
    'model-config': { type: 'string', placeholder: 'JSON', description: 'model settings as a JSON object or file, e.g. {"baseChannels":48}' },
    objective: { type: 'string', placeholder: 'NAME', description: `training objective: ${objectiveNames.join(', ')}`, default: 'edm' },
    cond: { type: 'string', placeholder: 'KIND', description: 'conditioning: none, class, caption or memory (GMem snippets of --bank)', default: 'none' },
    bank: { type: 'string', placeholder: 'DIR', description: "train on a memory bank's images (hasten gmem bank); with --cond memory on their snippets too" },
    'label-dropout': { type: 'string', placeholder: 'P', description: 'probability of the null condition (classifier-free guidance; the zero snippet for memory)', default: String(TRAIN_DEFAULTS.labelDropout) },
    'snippet-dropout': { type: 'string', placeholder: 'P', description: 'memory: element-wise dropout on the normalised snippet', default: String(MEMORY_TRAINING_DEFAULTS.snippetDropout) },
    flip: { type: 'string', placeholder: 'P', description: "bank: probability of mirroring a training image (memory: with its mirror's snippet)", default: String(MEMORY_TRAINING_DEFAULTS.flip) },
    cosine: { type: 'string', placeholder: 'W', description: 'bank: weight of the cosine term between predicted and target output (GMem: 1)', default: String(MEMORY_TRAINING_DEFAULTS.cosineWeight) },
    repa: { type: 'string', placeholder: 'W', description: "memory, DiT: weight of REPA's alignment to the bank encoder's maps (GMem: 0.5)", default: String(MEMORY_TRAINING_DEFAULTS.repaWeight) },
    steps: { type: 'string', placeholder: 'N', description: 'optimizer steps', default: String(TRAIN_DEFAULTS.steps) },
    batch: { type: 'string', placeholder: 'B', description: 'samples per step', default: String(TRAIN_DEFAULTS.batch) },
    lr: { type: 'string', placeholder: 'LR', description: 'peak learning rate', default: String(TRAIN_DEFAULTS.lr) },
    warmup: { type: 'string', placeholder: 'N', description: 'learning-rate warm-up steps', default: String(TRAIN_DEFAULTS.warmup) },
    'lr-decay': { type: 'string', placeholder: 'KIND', description: 'after warm-up: constant, cosine or linear', default: TRAIN_DEFAULTS.lrDecay },
    'ema-half-life': { type: 'string', placeholder: 'IMAGES', description: 'EMA half-life in training samples', default: String(TRAIN_DEFAULTS.emaHalfLifeImages) },
    'checkpoint-every': { type: 'string', placeholder: 'N', description: 'steps between checkpoints', default: String(TRAIN_DEFAULTS.checkpointEvery) },
    resolution: { type: 'string', placeholder: 'R', description: 'image side for datasets that take one (shapes, folder)' },
    seed: { type: 'string', placeholder: 'S', description: 'seed of initialisation, data order and noise', default: '0' },
    init: { type: 'string', placeholder: 'DIR', description: "start from this run's (or checkpoint directory's) parameters, its EMA when it has one, instead of a fresh initialisation" },
    'p-mean': { type: 'string', placeholder: 'M', description: 'EDM objective: mean of log sigma during training', default: String(OBJECTIVE_DEFAULTS.pMean) },
    'p-std': { type: 'string', placeholder: 'S', description: 'EDM objective: standard deviation of log sigma during training', default: String(OBJECTIVE_DEFAULTS.pStd) },
    out: { type: 'string', placeholder: 'DIR', description: 'output directory (checkpoint/, log.jsonl)' },
    resume: { type: 'boolean', description: "continue from DIR's checkpoint with its saved settings" },
    json: { type: 'boolean', description: 'print a JSON summary at the end' },
  },
  details: 'Example: hasten train --data shapes --model unet --objective edm --cond class --steps 4000 --batch 64 --out runs/shapes',
  async run(values) {
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('--out DIR is required');
    let config: TrainConfig;
    if (values.resume) {
      config = await resumedConfig<TrainConfig>(out, values.steps);
    } else {
      const data = values.data as string | undefined;
      if (!data) throw new UsageError('--data NAME is required');
      const cond = values.cond as string;
      if (!['none', 'class', 'caption', 'memory'].includes(cond)) throw new UsageError(`--cond must be none, class, caption or memory, got '${cond}'`);
      if (cond === 'memory' && typeof values.bank !== 'string') throw new UsageError('--cond memory needs --bank DIR (build one with hasten gmem bank)');
      const resolution = parseNumber('resolution', values.resolution, { integer: true, min: 4 });
      let dataset;
      try {
        dataset = openDataset(data, { resolution });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const arch = values.model as string;
      if (!(ARCHITECTURES as string[]).includes(arch)) throw new UsageError(`--model must be one of ${ARCHITECTURES.join(', ')}, got '${arch}'`);
      const bankSettings = typeof values.bank === 'string'
        ? {
          bank: values.bank,
          flip: parseNumber('flip', values.flip, { min: 0 })!,
          snippetDropout: parseNumber('snippet-dropout', values['snippet-dropout'], { min: 0 })!,
          cosineWeight: parseNumber('cosine', values.cosine, { min: 0 })!,
          repaWeight: parseNumber('repa', values.repa, { min: 0 })!,
          encoder: null,
        }
        : undefined;
      let memoryModel: Record<string, number> = {};
      if (bankSettings) {
        try {
          const parts = await openBankParts({ cond: cond as TrainConfig['cond'], bank: bankSettings });
          if (parts.bank.metadata.data !== dataset.name) throw new UsageError(`--bank ${values.bank} holds images of '${parts.bank.metadata.data}', not of --data '${data}'`);
          memoryModel = memoryModelSettings(parts.bank, parts.encoder, cond as TrainConfig['cond']);
          await parts.encoder?.dispose();
        } catch (error) {
          if (error instanceof BankError) throw new UsageError(error.message);
          throw error;
        }
      }
      if (cond === 'class' && !dataset.numClasses) throw new UsageError(`dataset '${data}' has no class labels; use --cond none`);
      if (cond === 'caption' && !dataset.hasCaptions) throw new UsageError(`dataset '${data}' has no captions`);
      const shape = dataset.shape;
      const fromData = arch === 'mlp' ? { dataDim: shape[0] } : { resolution: shape[1], inChannels: shape[0], outChannels: shape[0] };
      const conditioning = { numClasses: cond === 'class' ? dataset.numClasses : 0, captionTokens: cond === 'caption' ? CAPTION_TOKENS : 0 };
      let model;
      let objective;
      try {
        model = resolveModelConfig({ ...fromData, ...conditioning, ...memoryModel, ...parseModelSettings(values['model-config']), arch });
        objective = objectiveSettings(values.objective as string, {
          pMean: parseNumber('p-mean', values['p-mean'])!,
          pStd: parseNumber('p-std', values['p-std'], { min: 0 })!,
        });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      if (model.condVectorDim > 0 && cond !== 'memory') throw new UsageError('a model with condVectorDim needs --cond memory --bank DIR, which feeds the snippets');
      const lrDecay = values['lr-decay'] as TrainConfig['lrDecay'];
      if (!['constant', 'cosine', 'linear'].includes(lrDecay)) throw new UsageError(`--lr-decay must be constant, cosine or linear, got '${lrDecay}'`);
      config = {
        ...TRAIN_DEFAULTS,
        data,
        resolution,
        model,
        objective,
        cond: cond as TrainConfig['cond'],
        steps: parseNumber('steps', values.steps, { integer: true, min: 1 })!,
        batch: parseNumber('batch', values.batch, { integer: true, min: 1 })!,
        lr: parseNumber('lr', values.lr, { min: 0 })!,
        warmup: parseNumber('warmup', values.warmup, { integer: true, min: 0 })!,
        lrDecay,
        emaHalfLifeImages: parseNumber('ema-half-life', values['ema-half-life'], { min: 0 })!,
        checkpointEvery: parseNumber('checkpoint-every', values['checkpoint-every'], { integer: true, min: 1 })!,
        seed: parseNumber('seed', values.seed, { integer: true, min: 0 })!,
        init: typeof values.init === 'string' ? initLocation(values.init) : undefined,
        labelDropout: parseNumber('label-dropout', values['label-dropout'], { min: 0 })!,
        ...(bankSettings && { bank: bankSettings }),
      };
    }
    let interrupted = false;
    const onSignal = (): void => {
      if (interrupted) process.exit(130);
      interrupted = true;
      process.stderr.write('\ntrain: stopping after this step and saving a checkpoint (Ctrl-C again to quit now)\n');
    };
    process.on('SIGINT', onSignal);
    try {
      const source = config.bank ? await memorySource(config) : undefined;
      const result = await train(config, out, { resume: Boolean(values.resume), callbacks: { shouldStop: () => interrupted }, source });
      const summary = { out, step: result.step, steps: config.steps, stopped: result.stopped, loss: result.lastLoss, images_per_second: result.imagesPerSecond };
      if (values.json) console.log(JSON.stringify(summary));
      else console.log(`${result.stopped ? 'stopped' : 'finished'} at step ${result.step}/${config.steps}; checkpoint in ${checkpointDir(out)} (${result.imagesPerSecond.toFixed(1)} samples/s)`);
    } finally {
      process.off('SIGINT', onSignal);
    }
  },
};
