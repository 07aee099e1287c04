// Opening a trained model by name (a shipped model under models/) or by path (a training output
// directory or a checkpoint directory), with the settings it was trained with.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ParamTree } from '../engine/host-tensor.js';
import { CheckpointError, loadCheckpoint, underPrefix } from '../engine/checkpoint.js';
import { checkParams } from '../models/init.js';
import { createModel, type Model, type ModelConfig } from '../models/registry.js';
import { type ObjectiveName, objectiveNames } from '../train/objectives.js';
import { shippedModelsDir } from '../paths.js';
import type { TrainConfig } from '../train/trainer.js';
import { InputError } from '../engine/input-error.js';
import { EMA_PREFIX } from '../engine/state-names.js';

export interface TrainedModel {
  name: string;
  location: string;
  model: Model;
  /** The EMA parameters when the checkpoint has them, else the raw ones. */
  params: ParamTree;
  config: TrainConfig & { dataShape: number[]; classNames: string[] | null };
  step?: number;
  saveId: string; // the checkpoint's save id: names these exact weights
}

export class ModelNotFound extends InputError {
  override name = 'ModelNotFound';
}

/** Whether a checkpoint.json describes a diffusion model (feature networks ship beside them). */
function isDiffusionCheckpoint(configPath: string): boolean {
  try {
    const json = JSON.parse(readFileSync(configPath, 'utf8')) as { config?: { model?: unknown; objective?: unknown } };
    return json.config?.model !== undefined && json.config.objective !== undefined;
  } catch {
    return false;
  }
}

export function shippedModelNames(): string[] {
  const dir = shippedModelsDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isDiffusionCheckpoint(join(dir, e.name, 'checkpoint.json')))
    .map((e) => e.name)
    .sort();
}

/** The checkpoint directory inside a training output (PATH/checkpoint) or PATH itself, when it holds checkpoint.json. */
function checkpointIn(path: string): string | undefined {
  return [join(path, 'checkpoint'), path].map((dir) => resolve(dir)).find((dir) => existsSync(join(dir, 'checkpoint.json')));
}

export interface ModelLocation {
  location: string; // the checkpoint directory
  note?: string; // set when a bare name could also have meant a local folder: says which was used
}

/**
 * Where NAME or PATH is. A bare name (no slash) of a shipped model means that model; anything else
 * that exists is a path, relative to the working directory (`..` included), to a training output or
 * a checkpoint directory. A bare name that is both says so in `note`.
 */
export function resolveModel(nameOrPath: string): ModelLocation {
  const bare = !/[\\/]/.test(nameOrPath) && nameOrPath !== '.' && nameOrPath !== '..';
  const shipped = shippedModelNames();
  if (bare && shipped.includes(nameOrPath)) {
    const location = join(shippedModelsDir(), nameOrPath);
    if (!existsSync(nameOrPath) || !checkpointIn(nameOrPath)) return { location };
    return { location, note: `'${nameOrPath}' is the shipped model ${nameOrPath}; the folder ./${nameOrPath} here also holds a model: write ./${nameOrPath} for it` };
  }
  if (existsSync(nameOrPath)) {
    const location = checkpointIn(nameOrPath);
    if (!location) throw new ModelNotFound(`no model '${nameOrPath}': '${nameOrPath}' holds no checkpoint.json (nor checkpoint/checkpoint.json)`);
    return { location };
  }
  if (bare) throw new ModelNotFound(`no model '${nameOrPath}': not a shipped model (${shipped.length > 0 ? shipped.join(', ') : 'none shipped'}) nor a folder here`);
  throw new ModelNotFound(`no model '${nameOrPath}': no such file or folder`);
}

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
  if (dataShape.join(',') !== expected.join(',')) throw new Error(`dataShape [${dataShape.join(', ')}] does not match the model, which reads [${expected.join(', ')}]`);
  if (classNames === null || classNames === undefined) return;
  if (!Array.isArray(classNames) || !classNames.every((name) => typeof name === 'string')) throw new Error(`classNames must be a list of names or null, got ${JSON.stringify(classNames)}`);
  const classes = model.config.numClasses;
  if (classes > 0 && classNames.length !== classes) throw new Error(`classNames lists ${classNames.length} names but the model has ${classes} classes`);
}

export interface LoadModelOptions {
  warn?: (message: string) => void; // told how an ambiguous name was resolved (default: standard error)
}

function writeNote(message: string): void {
  process.stderr.write(`note: ${message}\n`);
}

export async function loadTrainedModel(nameOrPath: string, { warn = writeNote }: LoadModelOptions = {}): Promise<TrainedModel> {
  const { location, note } = resolveModel(nameOrPath);
  if (note) warn(note);
  const checkpoint = await loadCheckpoint(location);
  const config = checkpoint.config as unknown as TrainedModel['config'];
  let model: Model;
  let params: ParamTree;
  try {
    if (!config.model) throw new Error('checkpoint.json has no model settings; is this a diffusion model checkpoint?');
    model = createModel(config.model);
    checkSavedSettings(checkpoint.config, model);
    const ema = underPrefix(EMA_PREFIX, checkpoint.extra) as ParamTree;
    params = ema.size > 0 ? ema : checkpoint.params;
    checkParams(model, params);
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    throw new CheckpointError(location, (error as Error).message);
  }
  return { name: nameOrPath, location, model, params, config, step: checkpoint.step, saveId: checkpoint.saveId };
}
