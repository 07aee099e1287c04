// The three caching methods as one mechanism: at key steps the network runs in full and the outputs
// of some modules are kept; at the other steps those modules are replaced by their cached outputs
// (everything only they needed drops out of the compiled graph). They differ in which modules:
//   encoder-propagation  (Faster Diffusion) the encoder's outputs: every skip source and the middle,
//                        so a non-key step runs the decoder alone; for the DiT the first K blocks
//   feature-inheritance  (A-SDM) any block, layer or unit, chosen by path patterns
//   deepcache            (DeepCache) the decoder's input to the shallow branch b: everything deeper
//                        than skip b is reused, only the outer encoder and decoder blocks run
//
// Flag syntax (comma-separated key=value; lists inside a value are '/'-separated):
//   --encoder-propagation every=3 | keys=dense-early|ends:K|0/1/2/5, noise=0.003, noise-from=0.5, parallel=on|off, blocks=K (DiT)
//   --feature-inheritance modules=mid/dec.2.*, every=2 | keys=...
//   --deepcache every=3, branch=1

import { AccelSettingError } from './errors.js';
import type { DiffusionNet, ForwardOptions } from '../models/network.js';
import type { ModuleKind } from '../models/declarations.js';
import { netTraceFn } from '../models/network.js';
import { ENCODER_BLOCKS, hasLongSkips, hasMovableSplit, isEncoderDecoder } from '../models/capabilities.js';
import { traceFunction } from '../engine/runtime.js';
import { type StepPattern, describeStepPattern, parseStepPattern } from './step-pattern.js';

export type CachingMethod = 'encoder-propagation' | 'feature-inheritance' | 'deepcache';
export const CACHING_METHODS: readonly CachingMethod[] = ['encoder-propagation', 'feature-inheritance', 'deepcache'];

export interface EncoderPropagation {
  method: 'encoder-propagation';
  keys: StepPattern; // key steps, where the encoder runs
  parallel: boolean; // decode the non-key steps after a key step in one batched call where the sampler allows it
  noise: number; // prior noise injection: x <- x + noise * z_T at late steps (0 = off)
  noiseFrom: number; // injection starts at this fraction of the steps
  blocks?: number; // DiT: leading blocks that form the encoder (default: the model's)
}

export interface FeatureInheritance {
  method: 'feature-inheritance';
  keys: StepPattern;
  modules: string[]; // module path patterns ('*' matches anything, dots included)
}

export interface DeepCache {
  method: 'deepcache';
  every: number; // a full step every `every` steps
  branch: number; // skip index of the shallow branch that keeps running (0 = outermost)
}

export type Caching = EncoderPropagation | FeatureInheritance | DeepCache;

export const ENCODER_PROPAGATION_DEFAULTS = {
  noise: 0.003, // Faster Diffusion's alpha
  noiseFrom: 0.5, // the second half of the trajectory, as their t < 500 of 1000
  parallel: true,
};

function keyValues(flag: string, text: string, known: readonly string[]): Map<string, string> {
  const settings = new Map<string, string>();
  for (const part of text.split(',')) {
    const [key, value] = part.split('=', 2).map((s) => s.trim());
    if (!key || value === undefined || value === '') throw new AccelSettingError(`--${flag}: expected key=value, got '${part}'`);
    if (!known.includes(key)) throw new AccelSettingError(`--${flag}: unknown setting '${key}' (settings: ${known.join(', ')})`);
    if (settings.has(key)) throw new AccelSettingError(`--${flag}: '${key}' is given twice`);
    settings.set(key, value);
  }
  return settings;
}

function integerSetting(flag: string, key: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new AccelSettingError(`--${flag}: ${key} must be an integer >= ${min}, got '${text}'`);
  return value;
}

function keyPattern(flag: string, settings: Map<string, string>): StepPattern {
  const every = settings.get('every');
  const keys = settings.get('keys');
  if (every !== undefined && keys !== undefined) throw new AccelSettingError(`--${flag}: give either every or keys, not both`);
  if (every !== undefined) return { kind: 'every', k: integerSetting(flag, 'every', every, 1) };
  if (keys !== undefined) {
    try {
      return parseStepPattern(keys);
    } catch (error) {
      throw new AccelSettingError(`--${flag}: ${(error as Error).message}`);
    }
  }
  throw new AccelSettingError(`--${flag}: give the key steps, e.g. every=3 or keys=dense-early`);
}

export function parseCaching(method: CachingMethod, text: string): Caching {
  switch (method) {
    case 'encoder-propagation': {
      const s = keyValues(method, text, ['every', 'keys', 'noise', 'noise-from', 'parallel', 'blocks']);
      const noise = Number(s.get('noise') ?? ENCODER_PROPAGATION_DEFAULTS.noise);
      if (!(noise >= 0)) throw new AccelSettingError(`--${method}: noise must be a number >= 0, got '${s.get('noise')}'`);
      const noiseFrom = Number(s.get('noise-from') ?? ENCODER_PROPAGATION_DEFAULTS.noiseFrom);
      if (!(noiseFrom >= 0 && noiseFrom <= 1)) throw new AccelSettingError(`--${method}: noise-from must be a fraction in [0, 1], got '${s.get('noise-from')}'`);
      const parallel = s.get('parallel') ?? 'on';
      if (parallel !== 'on' && parallel !== 'off') throw new AccelSettingError(`--${method}: parallel must be on or off, got '${parallel}'`);
      const blocks = s.get('blocks');
      return { method, keys: keyPattern(method, s), noise, noiseFrom, parallel: parallel === 'on', ...(blocks !== undefined ? { blocks: integerSetting(method, 'blocks', blocks, 1) } : {}) };
    }
    case 'feature-inheritance': {
      const s = keyValues(method, text, ['every', 'keys', 'modules']);
      const modules = (s.get('modules') ?? '').split('/').filter((m) => m !== '');
      if (modules.length === 0) throw new AccelSettingError(`--${method}: give the modules to inherit, e.g. modules=mid or modules=*.attn.mlp`);
      return { method, keys: keyPattern(method, s), modules };
    }
    case 'deepcache': {
      const s = keyValues(method, text, ['every', 'branch']);
      return { method, every: integerSetting(method, 'every', s.get('every') ?? '3', 1), branch: integerSetting(method, 'branch', s.get('branch') ?? '0', 0) };
    }
  }
}

export function describeCaching(caching: Caching): string {
  switch (caching.method) {
    case 'encoder-propagation': {
      const parts = [`keys=${describeStepPattern(caching.keys)}`, `noise=${caching.noise}`];
      if (caching.noise > 0 && caching.noiseFrom !== ENCODER_PROPAGATION_DEFAULTS.noiseFrom) parts.push(`noise-from=${caching.noiseFrom}`);
      if (!caching.parallel) parts.push('parallel=off');
      if (caching.blocks !== undefined) parts.push(`blocks=${caching.blocks}`);
      return parts.join(',');
    }
    case 'feature-inheritance': return `modules=${caching.modules.join('/')},keys=${describeStepPattern(caching.keys)}`;
    case 'deepcache': return `every=${caching.every},branch=${caching.branch}`;
  }
}

/** The key-step pattern of any caching method. */
export function cachingKeys(caching: Caching): StepPattern {
  return caching.method === 'deepcache' ? { kind: 'every', k: caching.every } : caching.keys;
}

/** Module kinds feature inheritance may reuse: A-SDM's block, layer and unit, plus a stage of blocks (the middle). */
const INHERITABLE: readonly ModuleKind[] = ['stage', 'block', 'layer', 'unit'];

const globToRegExp = (pattern: string): RegExp => new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

/** What a caching method reuses on a model: module paths and the forward options they assume. */
export interface ResolvedCaching {
  modules: string[];
  forwardOptions: ForwardOptions;
}

export function resolveCaching(caching: Caching, model: DiffusionNet): ResolvedCaching {
  switch (caching.method) {
    case 'encoder-propagation': {
      if (!isEncoderDecoder(model)) throw new AccelSettingError(`--encoder-propagation needs a U-Net or a DiT (a network with an encoder/decoder split), not a ${model.config.arch}`);
      if (caching.blocks !== undefined && !hasMovableSplit(model)) throw new AccelSettingError(`--encoder-propagation: blocks=K applies to the DiT only (a network whose encoder/decoder split moves); the ${model.config.arch}'s split is fixed`);
      const forwardOptions: ForwardOptions = caching.blocks !== undefined ? { [ENCODER_BLOCKS]: caching.blocks } : {};
      return { modules: [...model.encoderOutputs(1, forwardOptions).keys()], forwardOptions };
    }
    case 'feature-inheritance': {
      const modules = model.modules();
      const chosen = new Set<string>();
      for (const pattern of caching.modules) {
        const regex = globToRegExp(pattern);
        const matched = modules.filter((m) => regex.test(m.path));
        if (matched.length === 0) throw new AccelSettingError(`--feature-inheritance: no module matches '${pattern}' (e.g. ${modules.slice(0, 6).map((m) => m.path).join(', ')}, ...)`);
        const wrongKind = matched.find((m) => !INHERITABLE.includes(m.kind));
        if (wrongKind && matched.length === 1) throw new AccelSettingError(`--feature-inheritance: '${wrongKind.path}' is a ${wrongKind.kind}; only blocks, layers, units and stages can be inherited`);
        for (const m of matched) if (INHERITABLE.includes(m.kind)) chosen.add(m.path);
      }
      // A module inside another chosen module is never reached when the outer one is reused.
      const outermost = [...chosen].filter((path) => ![...chosen].some((other) => other !== path && path.startsWith(`${other}.`)));
      return { modules: modules.map((m) => m.path).filter((p) => outermost.includes(p)), forwardOptions: {} };
    }
    case 'deepcache': {
      if (!hasLongSkips(model)) throw new AccelSettingError(`--deepcache needs a U-Net (a network with long skips: it caches below a skip branch), not a ${model.config.arch}`);
      const skips = model.skips();
      if (caching.branch >= skips.length) throw new AccelSettingError(`--deepcache: branch must be a skip index in 0..${skips.length - 1}, got ${caching.branch}`);
      // The decoder module just before the branch's consumer produces the deep features it reads.
      const order = model.modules().filter((m) => (m.role === 'decoder' && m.kind === 'block') || m.path === 'mid').map((m) => m.path);
      const consumer = order.indexOf(skips[caching.branch]!.consumer);
      return { modules: [order[consumer - 1]!], forwardOptions: {} };
    }
  }
}

/** Output shape of each module at batch 1, from one trace that captures them. */
export function moduleOutputShapes(model: DiffusionNet, modules: readonly string[], forwardOptions: ForwardOptions = {}): Map<string, number[]> {
  const { outputs } = traceFunction(netTraceFn(model, { capture: new Set(modules) }, forwardOptions), model.inputSpecs(1));
  return new Map(modules.map((path) => [path, [...outputs[`cache:${path}`]!.shape]]));
}
