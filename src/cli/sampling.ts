// The option declarations that every command drawing samples shares (sample, eval, the analyses and
// benchmarks that sample), and the few checks that involve more than one option.

import { ACCEL_FLAG_HELP, type AccelConfig, type AccelFlags, parseAccelFlags } from '../accel/config.js';
import { gridSyntax, parseGridSpec } from '../diffusion/grids.js';
import { type SamplerChoice, getSampler, parseSamplerSpec, samplerNames, samplerSyntax } from '../diffusion/samplers/index.js';
import type { GenerateOptions, GuidanceInterval, SamplingTarget } from '../pipeline/generate.js';
import { ModelNotFound, type TrainedModel, loadTrainedModel, resolveModel } from '../pipeline/model-store.js';
import { type Switch, type SwitchSpec, parseSwitches } from '../pipeline/switching.js';
import { IMPORT_FILE, isImportedModelDir, openImportedModel } from '../import/model-folder.js';
import { importedTarget, readConditioningFile } from '../import/target.js';
import { type TextOption, int, num, text, UsageError } from './options.js';

/** The names a command gives the model it reads, by the model's role; each command uses one per model. */
const MODEL_ROLES = ['model', 'teacher', 'student', 'init'] as const;
type ModelRole = (typeof MODEL_ROLES)[number];

/** What a model option takes: hasten's own models, also folders written by hasten import, or only those. */
type ModelKinds = 'hasten' | 'any' | 'imported';

const KIND_HELP: Record<ModelKinds, string> = {
  hasten: 'a shipped model name, or a path to a training output or checkpoint directory (./NAME for a local folder named like a shipped model)',
  any: 'a shipped model name, a path to a training output or checkpoint directory (./NAME for a local folder named like a shipped model), or a model folder written by hasten import',
  imported: 'a model folder written by hasten import',
};

/** Checks NAME|PATH by the one rule (resolveModel) when the command line is read, so a wrong name is one error before any work. */
function checkModel(raw: string, kinds: ModelKinds): string {
  const imported = isImportedModelDir(raw);
  if (kinds === 'imported') {
    if (!imported) throw new ModelNotFound(`'${raw}' is not a model folder written by hasten import (no ${IMPORT_FILE} in it)`);
  } else if (imported) {
    if (kinds === 'hasten') throw new ModelNotFound(`'${raw}' is a model imported by hasten import; this command takes hasten's own models (sample and bench accel take imported ones)`);
  } else {
    resolveModel(raw);
  }
  return raw;
}

/**
 * A model on the command line, named by its role (--model, --teacher, --student, --init): NAME|PATH
 * resolved by one rule, checked when the command line is read; the other role names point to it.
 */
export const modelName = <const S extends { description: string; required?: boolean; default?: string }>(role: ModelRole, spec: S, kinds: ModelKinds = 'hasten'): S & TextOption<string> & { parse: (raw: string) => string } => ({
  ...spec,
  type: 'text',
  placeholder: kinds === 'imported' ? 'DIR' : 'NAME|PATH',
  parse: (raw: string) => checkModel(raw, kinds),
  misnamed: MODEL_ROLES.filter((r) => r !== role),
  description: `${spec.description}: ${KIND_HELP[kinds]}`,
});

/** --model NAME|PATH, required: the model a command samples, measures or exports. */
export const modelOption = modelName('model', { required: true, description: 'the model' });

/** Conditioning tensors of imported text-conditioned models. */
export const conditioningOptions = {
  'cond-file': text({ placeholder: 'FILE.safetensors', description: 'imported text-conditioned model: encoder_hidden_states [1 or n, tokens, width]; one row applies to every sample' }),
  'uncond-file': text({ placeholder: 'FILE.safetensors', description: 'imported text-conditioned model: the unconditional encoder_hidden_states that --guidance pushes away from' }),
};

/** --model as hasten's own model (with its --class choice) or an imported model folder (with its conditioning files). */
export async function openSamplingModel(values: { model: string; n: number; class?: string; 'cond-file'?: string; 'uncond-file'?: string }): Promise<{ model: TrainedModel | SamplingTarget; classes?: number[] }> {
  if (!isImportedModelDir(values.model)) {
    if (values['cond-file'] !== undefined || values['uncond-file'] !== undefined) throw new UsageError(`--cond-file and --uncond-file are for imported models; '${values.model}' is a hasten model (use --class)`);
    const trained = await loadTrainedModel(values.model);
    return { model: trained, classes: parseClasses(trained.config.classNames ?? [], values.class) };
  }
  const imported = openImportedModel(values.model);
  if (values.class !== undefined && !imported.record.signature.classLabels) throw new UsageError(`--class is for class-conditional models; '${values.model}' takes no class labels${imported.record.signature.conditioning ? ' (it takes --cond-file)' : ''}`);
  const name = imported.record.signature.conditioning?.name ?? 'encoder_hidden_states';
  const read = (flag: 'cond-file' | 'uncond-file') => (values[flag] === undefined ? undefined : readConditioningFile(values[flag]!, name, `--${flag}`));
  const classes = parseClasses(imported.record.signature.classLabels?.names ?? [], values.class);
  return { model: importedTarget(imported, values.n, { cond: await read('cond-file'), uncond: await read('uncond-file'), classes }), classes };
}

/** A sampler by name only (commands whose settings are fixed by the experiment). */
export const samplerName = (description: string, fallback: string) =>
  text({ placeholder: 'NAME', default: fallback, parse: (raw: string) => getSampler(raw).name, description: `${description}: ${samplerNames.join(', ')}` });

/** The acceleration flags (--skip-tuning, --deepcache, ...): checked together by accelConfig. */
export const accelOptions = {
  'skip-tuning': text(ACCEL_FLAG_HELP['skip-tuning']),
  'encoder-propagation': text(ACCEL_FLAG_HELP['encoder-propagation']),
  'feature-inheritance': text(ACCEL_FLAG_HELP['feature-inheritance']),
  deepcache: text(ACCEL_FLAG_HELP.deepcache),
};

export const samplingOptions = {
  model: modelName('model', { required: true, description: 'the model' }, 'any'),
  sampler: text({ placeholder: 'NAME[:KEY=VALUE,...]', default: 'heun', parse: parseSamplerSpec, description: `sampler: ${samplerSyntax}` }),
  steps: int({ placeholder: 'N', min: 1, default: 18, description: 'sampler steps (heun and RK samplers cost more than one evaluation per step)' }),
  grid: text({ placeholder: 'SPEC', parse: (raw: string) => (parseGridSpec(raw), raw), description: `time grid (default: the objective's: karras for edm, logsnr for vp, rf for rf): ${gridSyntax}` }),
  n: int({ placeholder: 'N', min: 1, default: 16, description: 'number of samples' }),
  seed: int({ placeholder: 'S', min: 0, default: 0, description: 'noise seed; sample k depends only on (seed, k)' }),
  guidance: num({ placeholder: 'W', default: 1, description: 'classifier-free guidance weight (1 = plain conditional)' }),
  'guidance-interval': text({ placeholder: 'LOW,HIGH', description: 'guide only at noise levels (EDM sigma) in [LOW, HIGH]; elsewhere one evaluation per step instead of two' }),
  class: text({ placeholder: 'K[,K...]', description: 'class index or name per sample (cycled); default: all classes in turn' }),
  batch: int({ placeholder: 'B', min: 1, default: 64, description: 'samples per network call' }),
  ...accelOptions,
};

/** --switch: other models at some noise levels (multi-U-Net switching); a command that declares it passes openSwitches(values.switch) to generate. */
export const switchOption = text({ placeholder: 'MODEL@sigma>A', parse: (raw: string) => parseSwitches(raw).map((s) => ({ ...s, model: checkModel(s.model, 'hasten') })), description: 'other models at some noise levels: MODEL@sigma>A, MODEL@sigma<B or MODEL@A<sigma<B, comma-separated (first match wins); --model runs elsewhere (docs/compress.md)' });

/** The models of --switch, opened. */
export async function openSwitches(specs: SwitchSpec[] | undefined): Promise<Switch[]> {
  return Promise.all((specs ?? []).map(async (spec) => ({ ...spec, model: await loadTrainedModel(spec.model) })));
}

/** The acceleration flags as one AccelConfig (at most one caching method). */
export function accelConfig(values: Partial<Record<keyof AccelFlags, string | undefined>>): AccelConfig {
  const flags: AccelFlags = {};
  for (const name of Object.keys(accelOptions) as (keyof AccelFlags)[]) if (values[name] !== undefined) flags[name] = values[name];
  return parseAccelFlags(flags);
}

/** Parses --guidance-interval LOW,HIGH: the noise levels (EDM sigma) where guidance applies. */
export function parseGuidanceInterval(raw: string | undefined, guidance: number): GuidanceInterval | undefined {
  if (raw === undefined) return undefined;
  const bounds = raw.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (bounds.length !== 2 || !bounds.every((b) => Number.isFinite(b) && b >= 0) || bounds[0]! > bounds[1]!) {
    throw new UsageError(`--guidance-interval expects LOW,HIGH with 0 <= LOW <= HIGH (noise levels, e.g. 0.3,5), got '${raw}'`);
  }
  if (guidance === 1) throw new UsageError('--guidance-interval needs --guidance other than 1 (guidance 1 is the plain conditional model everywhere)');
  return { low: bounds[0]!, high: bounds[1]! };
}

/** Parses --class: indices or class names (the model's `names`), comma separated. */
export function parseClasses(names: readonly string[], raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim());
  if (items.some((item) => item === '')) throw new UsageError(`--class: '${raw}' holds an empty class name; give class indices or names separated by commas`);
  return items.map((item) => {
    const byName = names.indexOf(item);
    if (byName >= 0) return byName;
    const index = Number(item);
    if (!Number.isInteger(index)) throw new UsageError(`--class: '${item}' is neither a class index nor a class name (${names.join(', ') || 'the model has no class names'})`);
    return index;
  });
}

interface SamplingValues {
  sampler: SamplerChoice;
  steps: number;
  grid?: string;
  n: number;
  seed: number;
  guidance: number;
  'guidance-interval'?: string;
  batch: number;
}

/** generate()'s options from the shared sampling flags (without classes, which need the model). */
export function generateOptions(values: SamplingValues & Partial<Record<keyof AccelFlags, string | undefined>>): GenerateOptions & { accel: AccelConfig } {
  return {
    sampler: values.sampler.name,
    samplerSettings: values.sampler.settings,
    steps: values.steps,
    grid: values.grid,
    n: values.n,
    seed: values.seed,
    guidance: values.guidance,
    guidanceInterval: parseGuidanceInterval(values['guidance-interval'], values.guidance),
    batch: values.batch,
    accel: accelConfig(values),
  };
}
