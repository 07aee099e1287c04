// `hasten bench train`: training throughput of a model configuration against the roofline.

import { type Command, UsageError, parseNumber } from '../command.js';
import { measureTrainThroughput } from '../../bench/train-throughput.js';
import { createModel } from '../../models/registry.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { objectiveSettings } from '../../train/objectives.js';

export const benchTrainCommand: Command = {
  path: ['bench', 'train'],
  summary: "measure a model's training throughput (images/s, fraction of the roofline)",
  options: {
    model: { type: 'string', placeholder: 'NAME|PATH', description: 'a shipped or trained model whose configuration to time', default: 'shapes' },
    batch: { type: 'string', placeholder: 'B', description: 'training batch size (default: the one it was trained with)' },
    repeats: { type: 'string', placeholder: 'N', description: 'timed steps; the median is reported', default: '7' },
    json: { type: 'boolean', description: 'print one JSON object with the figures' },
  },
  async run(values) {
    let trained;
    try {
      trained = await loadTrainedModel(String(values.model));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const batch = parseNumber('batch', values.batch, { integer: true, min: 1 }) ?? trained.config.batch;
    const repeats = parseNumber('repeats', values.repeats, { integer: true, min: 1 })!;
    const result = await measureTrainThroughput(createModel(trained.config.model), { spec: trained.config.data, resolution: trained.config.resolution }, objectiveSettings(trained.config.objective.name, trained.config.objective), batch, { warmup: 2, repeats });
    if (values.json) console.log(JSON.stringify({ model: trained.name, data: trained.config.data, ...result }));
    else for (const [key, value] of Object.entries(result)) console.log(`${key.padEnd(24)} ${typeof value === 'number' ? value.toPrecision(4) : value}`);
  },
};
