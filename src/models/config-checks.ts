// Config checking. Every message names the setting, so a bad JSON config is fixed at a glance.

import { InputError } from '../engine/input-error.js';
import type { NetConfig } from './network.js';

export class ModelConfigError extends InputError {
  override name = 'ModelConfigError';
}

/** Fills defaults, rejects unknown settings and settings of the wrong type. */
export function resolveSettings<C extends NetConfig>(defaults: C, settings: Record<string, unknown>): C {
  const arch = defaults.arch;
  const known = Object.keys(defaults);
  const resolved = structuredClone(defaults) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(settings)) {
    if (!(key in defaults)) throw new ModelConfigError(`${arch}: unknown setting '${key}' (settings: ${known.join(', ')})`);
    const fallback = (defaults as Record<string, unknown>)[key];
    if (Array.isArray(fallback)) {
      // A list holds the type of its default's entries; an empty default is a list of names.
      const entry = fallback.length > 0 ? typeof fallback[0] : 'string';
      if (!Array.isArray(value) || value.some((v) => typeof v !== entry || (typeof v === 'number' && !Number.isFinite(v)))) {
        throw new ModelConfigError(`${arch}: setting '${key}' must be a list of ${entry === 'number' ? 'numbers' : 'strings'}, got ${JSON.stringify(value)}`);
      }
      resolved[key] = [...value];
    } else {
      if (typeof value !== typeof fallback || (typeof value === 'number' && !Number.isFinite(value))) {
        throw new ModelConfigError(`${arch}: setting '${key}' must be a ${typeof fallback}, got ${JSON.stringify(value)}`);
      }
      resolved[key] = value;
    }
  }
  return resolved as C;
}

export function requireInteger(arch: string, key: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new ModelConfigError(`${arch}: setting '${key}' must be an integer >= ${min}, got ${value}`);
}

export function requireOneOf<T extends string>(arch: string, key: string, value: string, allowed: readonly T[]): void {
  if (!allowed.includes(value as T)) throw new ModelConfigError(`${arch}: setting '${key}' must be one of ${allowed.join(', ')}, got '${value}'`);
}
