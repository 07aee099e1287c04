// Opening a trained model by name (a shipped model under models/) or by path (a training output
// directory or a checkpoint directory), with the settings it was trained with.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ParamTree } from '../engine/host-tensor.js';
import { loadCheckpoint } from '../engine/checkpoint.js';
import type { Model } from '../models/registry.js';
import { shippedModelsDir } from '../paths.js';
import type { TrainConfig } from '../train/trainer.js';
import { InputError } from '../engine/input-error.js';
import { trainedModelFrom } from './trained-model.js';
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

export interface LoadModelOptions {
  warn?: (message: string) => void; // told how an ambiguous name was resolved (default: standard error)
}

function writeNote(message: string): void {
  process.stderr.write(`note: ${message}\n`);
}

export async function loadTrainedModel(nameOrPath: string, { warn = writeNote }: LoadModelOptions = {}): Promise<TrainedModel> {
  const { location, note } = resolveModel(nameOrPath);
  if (note) warn(note);
  return trainedModelFrom(nameOrPath, location, await loadCheckpoint(location));
}
