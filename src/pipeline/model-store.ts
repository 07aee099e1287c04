// Opening a trained model by name (a shipped model under models/) or by path (a training output
// directory or a checkpoint directory), with the settings it was trained with.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ParamTree } from '../engine/host-tensor.js';
import { loadCheckpoint, underPrefix } from '../engine/checkpoint.js';
import { checkParams } from '../models/init.js';
import { createModel, type Model } from '../models/registry.js';
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

/** The checkpoint directory of NAME (shipped) or PATH (a training output or checkpoint directory). */
export function resolveModelLocation(nameOrPath: string): string {
  const candidates = [join(shippedModelsDir(), nameOrPath), join(nameOrPath, 'checkpoint'), nameOrPath];
  for (const dir of candidates) if (existsSync(join(dir, 'checkpoint.json'))) return dir;
  const shipped = shippedModelNames();
  throw new ModelNotFound(`no model '${nameOrPath}': not a shipped model (${shipped.length > 0 ? shipped.join(', ') : 'none shipped'}) nor a directory holding checkpoint.json`);
}

export async function loadTrainedModel(nameOrPath: string): Promise<TrainedModel> {
  const location = resolveModelLocation(nameOrPath);
  const checkpoint = await loadCheckpoint(location);
  const config = checkpoint.config as unknown as TrainedModel['config'];
  if (!config.model || !config.objective) throw new Error(`${location}: checkpoint.json has no model/objective settings; is this a diffusion model checkpoint?`);
  const model = createModel(config.model);
  const ema = underPrefix(EMA_PREFIX, checkpoint.extra) as ParamTree;
  const params = ema.size > 0 ? ema : checkpoint.params;
  checkParams(model, params);
  return { name: nameOrPath, location, model, params, config, step: checkpoint.step, saveId: checkpoint.saveId };
}
