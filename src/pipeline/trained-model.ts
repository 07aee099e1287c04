// A trained diffusion model from its checkpoint, wherever the checkpoint's bytes came from: a folder
// (model-store.ts) or a web server (model-fetch.ts). The saved settings are checked against the model.

import { CheckpointError } from '../engine/checkpoint-error.js';
import { type LoadedCheckpoint, underPrefix } from '../engine/checkpoint-format.js';
import { type ParamTree, sameShape } from '../engine/host-tensor.js';
import { EMA_PREFIX } from '../engine/state-names.js';
import { checkParams } from '../models/init.js';
import { type Model, type ModelConfig, createModel } from '../models/registry.js';
import { type ObjectiveName, objectiveNames } from '../train/objectives.js';
import type { TrainedModel } from './model-store.js';

const isPositiveInteger = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) > 0;

/** The input shape a model reads: [channels, side, side] for images, [dim] for points. */
function modelDataShape(config: ModelConfig): number[] {
  return config.arch === 'mlp' ? [config.dataDim] : [config.inChannels, config.resolution, config.resolution];
}

/** Throws, naming the setting, unless the saved objective, data shape and class names fit each other and the model. */
function checkSavedSettings(config: Record<string, unknown>, model: Model): void {
  const objective = config.objective as Record<string, unknown> | undefined;
  if (typeof objective !== 'object' || objective === null) throw new Error(`checkpoint.json has no objective settings; is this a diffusion model checkpoint?`);
  const known = objectiveNames.join(', ');
  if (!objectiveNames.includes(objective.name as ObjectiveName)) throw new Error(`unknown objective ${JSON.stringify(objective.name)} (known: ${known})`.replace(/"/g, "'"));
  if (objective.network !== undefined && !objectiveNames.includes(objective.network as ObjectiveName)) throw new Error(`objective.network '${String(objective.network)}' is not an objective (known: ${known})`);
  if (!(typeof objective.sigmaData === 'number' && objective.sigmaData > 0)) throw new Error(`objective.sigmaData must be a positive number, got ${JSON.stringify(objective.sigmaData)}`);
  if (objective.rfTMax !== undefined && !(typeof objective.rfTMax === 'number' && objective.rfTMax > 0 && objective.rfTMax <= 1)) throw new Error(`objective.rfTMax must be in (0, 1], got ${JSON.stringify(objective.rfTMax)}`);
  const { dataShape, classNames } = config;
  if (!Array.isArray(dataShape) || dataShape.length === 0 || !dataShape.every(isPositiveInteger)) throw new Error(`dataShape must be a list of positive integers, got ${JSON.stringify(dataShape)}`);
  const expected = modelDataShape(model.config);
  if (!sameShape(dataShape, expected)) throw new Error(`dataShape [${dataShape.join(', ')}] does not match the model, which reads [${expected.join(', ')}]`);
  if (classNames === null || classNames === undefined) return;
  if (!Array.isArray(classNames) || !classNames.every((name) => typeof name === 'string')) throw new Error(`classNames must be a list of names or null, got ${JSON.stringify(classNames)}`);
  const classes = model.config.numClasses;
  if (classes > 0 && classNames.length !== classes) throw new Error(`classNames lists ${classNames.length} names but the model has ${classes} classes`);
}

/** The model `checkpoint` (from `location`) describes, with its EMA parameters when it has them; a bad checkpoint is a CheckpointError naming `location`. */
export function trainedModelFrom(name: string, location: string, checkpoint: LoadedCheckpoint): TrainedModel {
  const config = checkpoint.config as unknown as TrainedModel['config'];
  let model: Model;
  let params: ParamTree;
  try {
    if (!config.model) throw new Error('checkpoint.json has no model settings; is this a diffusion model checkpoint?');
    model = createModel(config.model);
    checkSavedSettings(checkpoint.config, model);
    const ema = underPrefix(EMA_PREFIX, checkpoint.extra) as ParamTree;
    params = ema.size > 0 ? ema : checkpoint.params;
    checkParams(model, params, location);
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    throw new CheckpointError(location, (error as Error).message);
  }
  return { name, location, model, params, config, step: checkpoint.step, saveId: checkpoint.saveId };
}
