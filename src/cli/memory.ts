// The memory-bank options (GMem) that train, sample and eval share, and what they turn into: a
// run's bank settings and batch source, and the snippets a memory-conditioned model samples with.

import { SNIPPET_SELECTIONS, type MemoryBank } from '../gmem/bank.js';
import { loadEncoder } from '../gmem/encoder.js';
import { snippetOfFile } from '../gmem/snippet-of-file.js';
import { MEMORY_TRAINING_DEFAULTS, type MemoryTrainingSettings, bankSource, memoryModelSettings, openBankParts } from '../gmem/training.js';
import { createModel } from '../models/registry.js';
import { type MemoryConditions, type SamplingTarget, initialNoise } from '../pipeline/generate.js';
import { drawnConditions, interpolatedConditions, modelBank } from '../pipeline/memory-conditions.js';
import type { TrainedModel } from '../pipeline/model-store.js';
import type { ConditioningKind } from '../train/model-for-data.js';
import type { BatchSource } from '../train/batch-source.js';
import type { TrainConfig } from '../train/trainer.js';
import { choice, int, type OptionValues, list, num, text, UsageError } from './options.js';

export const memoryTrainingOptions = {
  bank: text({ placeholder: 'DIR', description: "train on a memory bank's images (hasten gmem bank); with --cond memory on their snippets too" }),
  'label-dropout': num({ placeholder: 'P', min: 0, max: 1, default: 0.1, description: 'probability of the null condition (classifier-free guidance; for memory, the zero snippet)' }),
  'snippet-dropout': num({ placeholder: 'P', min: 0, max: 0.99, default: MEMORY_TRAINING_DEFAULTS.snippetDropout, description: 'memory: element-wise dropout on the normalised snippet' }),
  flip: num({ placeholder: 'P', min: 0, max: 0.99, default: MEMORY_TRAINING_DEFAULTS.flip, description: "bank: probability of mirroring a training image (memory: with its mirror's snippet)" }),
  cosine: num({ placeholder: 'W', min: 0, default: MEMORY_TRAINING_DEFAULTS.cosineWeight, description: 'bank: weight of the cosine term between predicted and target output (GMem: 1)' }),
  repa: num({ placeholder: 'W', min: 0, default: MEMORY_TRAINING_DEFAULTS.repaWeight, description: "memory, DiT: weight of REPA's alignment to the bank encoder's maps (GMem: 0.5)" }),
};

/** The bank settings of a new run and the model settings they imply (snippet width, REPA projector); none without --bank. */
export async function memoryTrainingSettings(values: OptionValues<typeof memoryTrainingOptions>, cond: ConditioningKind): Promise<{ bank?: MemoryTrainingSettings; model: Record<string, number> }> {
  if (values.bank === undefined) {
    if (cond === 'memory') throw new UsageError('--cond memory needs --bank DIR (build one with hasten gmem bank)');
    return { model: {} };
  }
  const bank: MemoryTrainingSettings = { bank: values.bank, flip: values.flip, snippetDropout: values['snippet-dropout'], cosineWeight: values.cosine, repaWeight: values.repa, encoder: null };
  const parts = await openBankParts({ cond, bank: { ...bank } });
  await parts.encoder?.dispose();
  return { bank, model: memoryModelSettings(parts.bank, parts.encoder, cond) };
}

/** The batches of a run on a memory bank, or undefined for a run on its dataset's stream. */
export async function memorySource(config: TrainConfig): Promise<BatchSource | undefined> {
  if (!config.bank) return undefined;
  const parts = await openBankParts(config);
  const model = createModel(config.model);
  return bankSource(config, { ...parts, tokenSide: 'tokenSide' in model ? model.tokenSide : undefined });
}

export const memorySamplingOptions = {
  bank: text({ placeholder: 'DIR', description: "memory-conditioned models: the bank of snippets (default: the model's own)" }),
  'snippet-select': choice(SNIPPET_SELECTIONS, { placeholder: 'HOW', default: 'uniform', description: "memory: how each sample's entry is drawn (noise: tied to its initial noise)" }),
  snippet: int({ placeholder: 'K', min: 0, description: 'memory: condition every sample on bank entry K' }),
  'snippet-from': text({ placeholder: 'FILE.png', description: "memory: condition every sample on this image's snippet (images like it)" }),
  interpolate: list('text', { placeholder: 'A,B', description: 'memory: n samples from A to B (bank entries or image files), all from the same noise' }),
};

async function encodeFile(bank: MemoryBank, file: string): Promise<Float32Array> {
  const encoder = await loadEncoder(bank.metadata.encoder);
  try {
    return await snippetOfFile(encoder, file);
  } finally {
    await encoder.dispose();
  }
}

/** The snippets (and, for an interpolation, the shared noise) of a memory-conditioned model's n samples; undefined for other models. */
export async function memoryConditions(model: TrainedModel | SamplingTarget, values: OptionValues<typeof memorySamplingOptions>, n: number, seed: number): Promise<{ memory: MemoryConditions; noise?: Float64Array } | undefined> {
  const given = (['snippet', 'snippet-from', 'interpolate', 'bank'] as const).filter((flag) => values[flag] !== undefined);
  if (!('params' in model) || model.model.config.condVectorDim === 0) {
    if (given.length > 0) throw new UsageError(`model '${model.name}' is not memory-conditioned: drop --${given[0]}`);
    return undefined;
  }
  const trained = model;
  const chosen = given.filter((flag) => flag !== 'bank');
  if (chosen.length > 1) throw new UsageError(`--${chosen[0]} and --${chosen[1]} choose the snippets in different ways: give one`);
  const bank = await modelBank(trained, values.bank);
  if (values['snippet-from'] !== undefined) {
    const extended = bank.withSnippet(await encodeFile(bank, values['snippet-from']), values['snippet-from']);
    return { memory: drawnConditions(trained, extended, n, seed, { select: 'uniform', entry: extended.size - 1 }) };
  }
  if (values.interpolate !== undefined) {
    if (values.interpolate.length !== 2) throw new UsageError(`--interpolate expects A,B (bank entries or image files), got ${values.interpolate.length} items`);
    const [a, b] = await Promise.all(values.interpolate.map((end) => (/^\d+$/.test(end) ? bank.snippet(Number(end)) : encodeFile(bank, end))));
    const one = initialNoise(seed, 0, 1, trained.config.dataShape);
    const noise = new Float64Array(n * one.length);
    for (let k = 0; k < n; k++) noise.set(one, k * one.length);
    return { memory: interpolatedConditions(a!, b!, n), noise };
  }
  return { memory: drawnConditions(trained, bank, n, seed, { select: values['snippet-select'], entry: values.snippet }) };
}
