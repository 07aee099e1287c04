// A set of training-free accelerations as one JSON-serialisable config: Skip-Tuning, plus at most
// one caching method. Two caching methods would both replace parts of the same forward pass with
// stale features, and which one wins at a step would be arbitrary, so that is refused.

import { AccelSettingError } from './errors.js';
import { type Caching, type CachingMethod, CACHING_METHODS, describeCaching, parseCaching } from './caching.js';
import { type SkipTuning, describeSkipTuning, parseSkipTuning } from './skip-tuning.js';

export interface AccelConfig {
  skipTuning?: SkipTuning;
  caching?: Caching;
}

/** The CLI flag values, by flag name without the dashes. */
export type AccelFlags = Partial<Record<'skip-tuning' | CachingMethod, string>>;

export const ACCEL_FLAG_HELP: Record<keyof AccelFlags, { placeholder: string; description: string }> = {
  'skip-tuning': { placeholder: 'SPEC', description: 'scale the U-Net skips: 0.8 | inner=0.5,outer=1 [,time=decreasing|increasing] [,sigma=LO:HI]' },
  'encoder-propagation': { placeholder: 'SPEC', description: 'run the encoder at key steps only: every=3 | keys=dense-early|ends:3|0/1/2/5 [,noise=0.003] [,noise-from=0.5] [,parallel=on|off]' },
  'feature-inheritance': { placeholder: 'SPEC', description: 'reuse module outputs between key steps: modules=mid/dec.2.*,every=2 (paths: blocks, layers, units)' },
  deepcache: { placeholder: 'SPEC', description: 'full step every k, otherwise reuse everything below skip branch b: every=3,branch=0' },
};

export function parseAccelFlags(flags: AccelFlags): AccelConfig {
  const config: AccelConfig = {};
  if (flags['skip-tuning'] !== undefined) config.skipTuning = parseSkipTuning(flags['skip-tuning']);
  const given = CACHING_METHODS.filter((method) => flags[method] !== undefined);
  if (given.length > 1) throw new AccelSettingError(`--${given[0]} and --${given[1]} cannot be combined: both replace parts of the network with cached features (Skip-Tuning combines with either)`);
  if (given.length === 1) config.caching = parseCaching(given[0]!, flags[given[0]!]!);
  return config;
}

export const isPlain = (config: AccelConfig): boolean => !config.skipTuning && !config.caching;

/** A short description for tables: 'plain', or each method with its settings. */
export function describeAccel(config: AccelConfig): string {
  const parts: string[] = [];
  if (config.skipTuning) parts.push(`skip-tuning ${describeSkipTuning(config.skipTuning)}`);
  if (config.caching) parts.push(`${config.caching.method} ${describeCaching(config.caching)}`);
  return parts.length > 0 ? parts.join(' + ') : 'plain';
}
