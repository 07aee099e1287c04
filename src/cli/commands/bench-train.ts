// `hasten bench train`: training throughput of a model configuration against the roofline.

import { defineCommand } from '../command.js';
import { int, json, text } from '../options.js';
import { measureTrainThroughput } from '../../bench/train-throughput.js';
import { createModel } from '../../models/registry.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { objectiveSettings } from '../../train/objectives.js';

export const benchTrainCommand = defineCommand({
  path: ['bench', 'train'],
  summary: "measure a model's training throughput (images/s, fraction of the roofline)",
  options: {
    model: text({ placeholder: 'NAME|PATH', default: 'shapes', description: 'a shipped or trained model whose configuration to time' }),
    batch: int({ placeholder: 'B', min: 1, description: 'training batch size (default: the one it was trained with)' }),
    repeats: int({ placeholder: 'N', min: 1, default: 7, description: 'timed steps; the median is reported' }),
    json: json(),
  },
  async run(values) {
    const trained = await loadTrainedModel(values.model);
    const batch = values.batch ?? trained.config.batch;
    const { repeats } = values;
    const result = await measureTrainThroughput(createModel(trained.config.model), { spec: trained.config.data, resolution: trained.config.resolution }, objectiveSettings(trained.config.objective.name, trained.config.objective), batch, { warmup: 2, repeats });
    if (values.json) console.log(JSON.stringify({ model: trained.name, data: trained.config.data, ...result }));
    else for (const [key, value] of Object.entries(result)) console.log(`${key.padEnd(24)} ${typeof value === 'number' ? value.toPrecision(4) : value}`);
  },
});
