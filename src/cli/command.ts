// The shape every CLI command has. Commands live one per file under src/cli/commands/
// and are listed in src/cli/commands/index.ts.

import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string; placeholder?: string };

export interface Command {
  /** Words that select the command, e.g. ['bench', 'samplers']. */
  path: string[];
  summary: string;
  options: Record<string, OptionSpec>;
  /** Extra text printed after the options in --help. */
  details?: string;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<void>;
}

/** An error in the user's input: printed as one line, exit code 2, no stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseNumber(flag: string, raw: string | boolean | undefined, { integer = false, min = -Infinity } = {}): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
    const kind = integer ? 'an integer' : 'a number';
    throw new UsageError(`--${flag} expects ${kind}${min > -Infinity ? ` >= ${min}` : ''}, got '${String(raw)}'`);
  }
  return value;
}

export function parseList(raw: string | boolean | undefined): string[] | undefined {
  if (typeof raw !== 'string') return undefined;
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
