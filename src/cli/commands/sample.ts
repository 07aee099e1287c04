// `hasten sample`: draws samples from a trained or shipped model with any sampler and writes a PNG
// (an image grid, or a scatter plot for 2-D data).

import { writeFileSync } from 'node:fs';
import { type Command, UsageError, parseList, parseNumber } from '../command.js';
import { samplerNames } from '../../diffusion/samplers/index.js';
import { imageGrid } from '../../data/image-io.js';
import { scatterPlot } from '../../data/scatter-plot.js';
import { type GuidanceInterval, type MemoryConditions, generate, initialNoise } from '../../pipeline/generate.js';
import { drawnConditions, interpolatedConditions, modelBank } from '../../pipeline/memory-conditions.js';
import { BankError, SNIPPET_SELECTIONS, type SnippetSelection } from '../../gmem/bank.js';
import { loadEncoder } from '../../gmem/encoder.js';
import { snippetOfFile } from './gmem-bank.js';
import { ModelNotFound, type TrainedModel, loadTrainedModel } from '../../pipeline/model-store.js';
import { Progress } from '../progress.js';
import { ACCEL_FLAG_HELP, type AccelConfig, type AccelFlags, parseAccelFlags } from '../../accel/config.js';
import { AccelSettingError } from '../../accel/errors.js';

/** Parses --class: indices or class names, comma separated. */
export function parseClasses(trained: TrainedModel, raw: string | boolean | undefined): number[] | undefined {
  const items = parseList(raw);
  if (!items) return undefined;
  const names = trained.config.classNames ?? [];
  return items.map((item) => {
    const byName = names.indexOf(item);
    if (byName >= 0) return byName;
    const index = Number(item);
    if (!Number.isInteger(index)) throw new UsageError(`--class: '${item}' is neither a class index nor a class name (${names.join(', ') || 'the model has no class names'})`);
    return index;
  });
}

export async function openModel(raw: string | boolean | undefined): Promise<TrainedModel> {
  if (typeof raw !== 'string') throw new UsageError('--model NAME|PATH is required');
  try {
    return await loadTrainedModel(raw);
  } catch (error) {
    if (error instanceof ModelNotFound) throw new UsageError(error.message);
    throw error;
  }
}

export function checkSampler(raw: string | boolean | undefined): string {
  const name = String(raw);
  if (!samplerNames.includes(name)) throw new UsageError(`unknown sampler '${name}' (known: ${samplerNames.join(', ')})`);
  return name;
}

/** The acceleration flags as an AccelConfig; a bad setting is a usage error. */
export function parseAccel(values: Record<string, string | boolean | undefined>): AccelConfig {
  const flags: AccelFlags = {};
  for (const name of Object.keys(ACCEL_FLAG_HELP) as (keyof AccelFlags)[]) {
    const value = values[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new UsageError(`--${name} needs a value (e.g. ${ACCEL_FLAG_HELP[name].description.split(': ')[1]?.split(' |')[0]})`);
    flags[name] = value;
  }
  try {
    return parseAccelFlags(flags);
  } catch (error) {
    if (error instanceof AccelSettingError) throw new UsageError(error.message);
    throw error;
  }
}

/** The snippets (and, for an interpolation, the shared noise) of a memory-conditioned model's samples; undefined for other models. */
export async function parseMemoryFlags(trained: TrainedModel, values: Record<string, string | boolean | undefined>, n: number, seed: number): Promise<{ memory: MemoryConditions; noise?: Float64Array } | undefined> {
  const memoryFlags = ['snippet', 'snippet-from', 'interpolate', 'bank'].filter((flag) => values[flag] !== undefined);
  if (trained.model.config.condVectorDim === 0) {
    if (memoryFlags.length > 0) throw new UsageError(`model '${trained.name}' is not memory-conditioned: drop --${memoryFlags[0]}`);
    return undefined;
  }
  const select = String(values['snippet-select']);
  if (!(SNIPPET_SELECTIONS as readonly string[]).includes(select)) throw new UsageError(`--snippet-select must be ${SNIPPET_SELECTIONS.join(' or ')}, got '${select}'`);
  const chosen = ['snippet', 'snippet-from', 'interpolate'].filter((flag) => values[flag] !== undefined);
  if (chosen.length > 1) throw new UsageError(`--${chosen[0]} and --${chosen[1]} choose the snippets in different ways: give one`);
  try {
    const bank = await modelBank(trained, values.bank as string | undefined);
    const encoderSnippet = async (file: string): Promise<Float32Array> => {
      const encoder = await loadEncoder(bank.metadata.encoder);
      try {
        return await snippetOfFile(encoder, file);
      } finally {
        await encoder.dispose();
      }
    };
    if (typeof values['snippet-from'] === 'string') {
      const extended = bank.withSnippet(await encoderSnippet(values['snippet-from']), values['snippet-from']);
      return { memory: drawnConditions(trained, extended, n, seed, { select: 'uniform', entry: extended.size - 1 }) };
    }
    if (typeof values.interpolate === 'string') {
      const ends = parseList(values.interpolate) ?? [];
      if (ends.length !== 2) throw new UsageError(`--interpolate expects A,B (bank entries or image files), got '${values.interpolate}'`);
      const [a, b] = await Promise.all(ends.map((end) => (/^\d+$/.test(end) ? bank.snippet(Number(end)) : encoderSnippet(end))));
      const one = initialNoise(seed, 0, 1, trained.config.dataShape);
      const noise = new Float64Array(n * one.length);
      for (let k = 0; k < n; k++) noise.set(one, k * one.length);
      return { memory: interpolatedConditions(a!, b!, n), noise };
    }
    const entry = parseNumber('snippet', values.snippet, { integer: true, min: 0 });
    return { memory: drawnConditions(trained, bank, n, seed, { select: select as SnippetSelection, entry }) };
  } catch (error) {
    if (error instanceof BankError) throw new UsageError(error.message);
    throw error;
  }
}

/** Errors of sampling that come from what the user asked for, as usage errors (one line, no stack). */
export function asUsageError(error: unknown): unknown {
  const message = (error as Error).message;
  if (error instanceof AccelSettingError || /no feature network|unknown grid|grid '|out of range|not class-conditional/.test(message)) return new UsageError(message);
  return error;
}

/** Parses --guidance-interval LOW,HIGH: the noise levels (EDM sigma) where guidance applies. */
export function parseGuidanceInterval(raw: string | boolean | undefined, guidance: number): GuidanceInterval | undefined {
  if (raw === undefined) return undefined;
  const bounds = (parseList(raw) ?? []).map(Number);
  if (bounds.length !== 2 || !bounds.every((b) => Number.isFinite(b) && b >= 0) || bounds[0]! > bounds[1]!) {
    throw new UsageError(`--guidance-interval expects LOW,HIGH with 0 <= LOW <= HIGH (noise levels, e.g. 0.3,5), got '${String(raw)}'`);
  }
  if (guidance === 1) throw new UsageError('--guidance-interval needs --guidance other than 1 (guidance 1 is the plain conditional model everywhere)');
  return { low: bounds[0]!, high: bounds[1]! };
}

/** The sampling flags shared by sample, eval and the benchmarks that sample. */
export function parseSamplingFlags(values: Record<string, string | boolean | undefined>, minSamples = 1): { sampler: string; steps: number; n: number; seed: number; guidance: number; guidanceInterval?: GuidanceInterval; batch: number; grid?: string; accel: AccelConfig } {
  const guidance = parseNumber('guidance', values.guidance)!;
  return {
    accel: parseAccel(values),
    sampler: checkSampler(values.sampler),
    steps: parseNumber('steps', values.steps, { integer: true, min: 1 })!,
    n: parseNumber('n', values.n, { integer: true, min: minSamples })!,
    seed: parseNumber('seed', values.seed, { integer: true, min: 0 })!,
    guidance,
    guidanceInterval: parseGuidanceInterval(values['guidance-interval'], guidance),
    batch: parseNumber('batch', values.batch, { integer: true, min: 1 })!,
    grid: values.grid as string | undefined,
  };
}

export const sampleOptions = {
  model: { type: 'string', placeholder: 'NAME|PATH', description: 'a shipped model name or a training output directory' },
  sampler: { type: 'string', placeholder: 'NAME', description: `sampler: ${samplerNames.join(', ')}`, default: 'heun' },
  steps: { type: 'string', placeholder: 'N', description: 'sampler steps (heun and RK samplers cost more than one evaluation per step)', default: '18' },
  grid: { type: 'string', placeholder: 'SPEC', description: "time grid (default: the objective's: karras for edm, logsnr for vp, rf for rf)" },
  n: { type: 'string', placeholder: 'N', description: 'number of samples', default: '16' },
  seed: { type: 'string', placeholder: 'S', description: 'noise seed; sample k depends only on (seed, k)', default: '0' },
  guidance: { type: 'string', placeholder: 'W', description: 'classifier-free guidance weight (1 = plain conditional)', default: '1' },
  'guidance-interval': { type: 'string', placeholder: 'LOW,HIGH', description: 'guide only at noise levels (EDM sigma) in [LOW, HIGH]; elsewhere one evaluation per step instead of two' },
  class: { type: 'string', placeholder: 'K[,K...]', description: 'class index or name per sample (cycled); default: all classes in turn' },
  batch: { type: 'string', placeholder: 'B', description: 'samples per network call', default: '64' },
  bank: { type: 'string', placeholder: 'DIR', description: "memory-conditioned models: the bank of snippets (default: the model's own)" },
  'snippet-select': { type: 'string', placeholder: 'HOW', description: `memory: how each sample's entry is drawn: ${SNIPPET_SELECTIONS.join(' or ')} (tied to its initial noise)`, default: 'uniform' },
  snippet: { type: 'string', placeholder: 'K', description: 'memory: condition every sample on bank entry K' },
  'snippet-from': { type: 'string', placeholder: 'FILE.png', description: "memory: condition every sample on this image's snippet (images like it)" },
  interpolate: { type: 'string', placeholder: 'A,B', description: 'memory: n samples from A to B (bank entries or image files), all from the same noise' },
  ...Object.fromEntries(Object.entries(ACCEL_FLAG_HELP).map(([name, help]) => [name, { type: 'string', ...help }])) as Record<keyof AccelFlags, { type: 'string'; placeholder: string; description: string }>,
} as const;

export const sampleCommand: Command = {
  path: ['sample'],
  summary: 'draw samples from a model into a PNG grid',
  options: {
    ...sampleOptions,
    out: { type: 'string', placeholder: 'FILE.png', description: 'where to write the grid' },
    json: { type: 'boolean', description: 'print { nfe, wall_s, out } as JSON' },
  },
  details: 'Example: hasten sample --model shapes --sampler heun --steps 18 --n 16 --out grid.png\nAccelerations: docs/accel.md (Skip-Tuning combines with one caching method).',
  async run(values) {
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('--out FILE.png is required');
    const flags = parseSamplingFlags(values);
    const { n } = flags;
    const started = performance.now();
    const trained = await openModel(values.model);
    const classes = parseClasses(trained, values.class);
    const memory = await parseMemoryFlags(trained, values, n, flags.seed);
    const progress = values.json ? undefined : new Progress({ label: 'sample', total: n, unit: 'img' });
    let result;
    try {
      result = await generate(trained, { ...flags, classes, ...memory, onBatch: (done) => progress?.update(done) });
    } catch (error) {
      throw asUsageError(error);
    } finally {
      progress?.finish();
    }
    const isImage = result.images.shape.length === 4;
    writeFileSync(out, isImage ? imageGrid(result.images, { columns: Math.ceil(Math.sqrt(n)) }) : scatterPlot(result.images, { labels: result.labels?.map((c) => BigInt(c)) }));
    const wallS = (performance.now() - started) / 1000;
    if (values.json) console.log(JSON.stringify({ out, nfe: result.nfe, wall_s: wallS, sampling_s: result.wallS, gflops_per_image: result.flops / n / 1e9, n }));
    else console.log(`wrote ${n} samples to ${out} (${result.nfe} network evaluations each, ${wallS.toFixed(1)} s)`);
  },
};
