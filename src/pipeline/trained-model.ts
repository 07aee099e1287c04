// A trained diffusion model from its checkpoint, wherever the checkpoint's bytes came from: a folder
// (model-store.ts) or a web server (model-fetch.ts).

import { type LoadedCheckpoint, underPrefix } from '../engine/checkpoint-format.js';
import type { ParamTree } from '../engine/host-tensor.js';
import { EMA_PREFIX } from '../engine/state-names.js';
import { checkParams } from '../models/init.js';
import { createModel } from '../models/registry.js';
import type { TrainedModel } from './model-store.js';

/** The model `checkpoint` describes, with its EMA parameters when it has them. */
export function trainedModelFrom(name: string, location: string, checkpoint: LoadedCheckpoint): TrainedModel {
  const config = checkpoint.config as unknown as TrainedModel['config'];
  if (!config.model || !config.objective) throw new Error(`${location}: checkpoint.json has no model/objective settings; is this a diffusion model checkpoint?`);
  const model = createModel(config.model);
  const ema = underPrefix(EMA_PREFIX, checkpoint.extra) as ParamTree;
  const params = ema.size > 0 ? ema : checkpoint.params;
  checkParams(model, params);
  return { name, location, model, params, config, step: checkpoint.step, saveId: checkpoint.saveId };
}
