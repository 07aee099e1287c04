// Typed command-line options. A command declares each option once (type, default, bounds, choices,
// whether it is required, a placeholder and a one-line description); parseOptions turns argv into
// checked, typed values in one pass, and optionsHelp prints --help from the same declarations.
// How to declare a command: docs/cli.md.

import { InputError } from '../engine/input-error.js';

/** An error in the user's command line: printed as one line, exit code 2, no stack trace. */
export class UsageError extends InputError {
  override name = 'UsageError';
}

interface Described {
  /** One line for --help. */
  description: string;
  /** What the value looks like in --help, e.g. 'N', 'DIR', 'NAME|PATH'. */
  placeholder?: string;
  /** Missing is an error ('--out DIR is required'). */
  required?: boolean;
}

interface Bounds {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  /** Values must be greater than this (exclusive), e.g. 0 for a strictly positive factor. */
  above?: number;
}

export interface IntOption extends Described, Bounds { type: 'int'; default?: number }
export interface NumberOption extends Described, Bounds { type: 'number'; default?: number }
export interface BooleanOption extends Omit<Described, 'placeholder' | 'required'> { type: 'boolean' }
export interface ChoiceOption<C extends string = string> extends Described { type: 'choice'; choices: readonly C[]; default?: C }
/** Free text, or text turned into a value by `parse` (which throws InputError for a bad value). */
export interface TextOption<T = string> extends Described {
  type: 'text';
  default?: string;
  parse?: (raw: string) => T;
  repeatable?: boolean;
  /** Other names a user may reach for (--model where the command says --teacher): the unknown-option error points here. */
  misnamed?: readonly string[];
}
/** A comma-separated list of integers, numbers or words. */
export interface ListOption<E extends 'int' | 'number' | 'text' = 'int' | 'number' | 'text'> extends Described, Bounds { type: 'list'; of: E; default?: readonly (E extends 'text' ? string : number)[] }

export type OptionSpec = IntOption | NumberOption | BooleanOption | ChoiceOption | TextOption<unknown> | ListOption;
export type OptionSpecs = Record<string, OptionSpec>;

type Value<S> = S extends { type: 'int' | 'number' } ? number
  : S extends { type: 'boolean' } ? boolean
  : S extends { type: 'choice'; choices: readonly (infer C)[] } ? C
  : S extends { type: 'list'; of: 'text' } ? string[]
  : S extends { type: 'list' } ? number[]
  : S extends { parse: (raw: string) => infer T } ? (S extends { repeatable: true } ? T[] : T)
  : S extends { repeatable: true } ? string[]
  : string;
type Certain<S> = S extends { type: 'boolean' } ? true : S extends { required: true } ? true : S extends { default: NonNullable<unknown> } ? true : false;

/** The parsed values of a command's options: present (or defaulted) ones typed, others possibly undefined. */
export type OptionValues<O extends OptionSpecs> = { -readonly [K in keyof O]: Certain<O[K]> extends true ? Value<O[K]> : Value<O[K]> | undefined };

// Builders: they only add the `type`, so TypeScript keeps the literal settings for OptionValues.
export const int = <const S extends Omit<IntOption, 'type'>>(spec: S): S & { type: 'int' } => ({ type: 'int', ...spec });
export const num = <const S extends Omit<NumberOption, 'type'>>(spec: S): S & { type: 'number' } => ({ type: 'number', ...spec });
export const flag = <const S extends Omit<BooleanOption, 'type'>>(spec: S): S & { type: 'boolean' } => ({ type: 'boolean', ...spec });
export const choice = <const C extends string, const S extends Omit<ChoiceOption<C>, 'type' | 'choices'>>(choices: readonly C[], spec: S): S & { type: 'choice'; choices: readonly C[] } => ({ type: 'choice', choices, ...spec });
export const text = <const S extends Omit<TextOption<unknown>, 'type'>>(spec: S): S & { type: 'text' } => ({ type: 'text', ...spec });
export const list = <const E extends 'int' | 'number' | 'text', const S extends Omit<ListOption<E>, 'type' | 'of'>>(of: E, spec: S): S & { type: 'list'; of: E } => ({ type: 'list', of, ...spec });

/** The common --json flag: one JSON object on stdout instead of text and progress bars. */
export const json = (what = 'print one JSON object with the figures') => flag({ description: what });

const KIND = { int: 'an integer', number: 'a number' } as const;

function boundText(spec: Bounds): string {
  const parts: string[] = [];
  if (spec.above !== undefined) parts.push(`> ${spec.above}`);
  if (spec.min !== undefined) parts.push(`>= ${spec.min}`);
  if (spec.max !== undefined) parts.push(`<= ${spec.max}`);
  return parts.join(' and ');
}

function inBounds(value: number, spec: Bounds): boolean {
  return (spec.min === undefined || value >= spec.min) && (spec.max === undefined || value <= spec.max) && (spec.above === undefined || value > spec.above);
}

/** A number of kind `kind` within the bounds, or a UsageError naming the flag and the raw text. */
function parseNumeric(name: string, raw: string, kind: 'int' | 'number', spec: Bounds, inList: boolean): number {
  const value = raw.trim() === '' ? NaN : Number(raw);
  const bounds = boundText(spec);
  if (!Number.isFinite(value) || (kind === 'int' && !Number.isInteger(value))) throw new UsageError(`--${name} expects ${KIND[kind]}${bounds && ` ${bounds}`}, got '${raw}'`);
  if (!inBounds(value, spec)) throw new UsageError(inList ? `--${name}: values must be ${bounds}, got '${raw}'` : `--${name} expects ${KIND[kind]} ${bounds}, got '${raw}'`);
  return value;
}

function splitList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Runs a declared parser; what it refuses (an InputError) becomes a usage error naming the flag. */
function parseText<T>(name: string, raw: string, parse: (raw: string) => T): T {
  try {
    return parse(raw);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (error instanceof InputError) throw new UsageError(error.message.startsWith(`--${name}`) ? error.message : `--${name}: ${error.message}`);
    throw error;
  }
}

/** One option's raw text (or texts, for a repeatable one) as its typed value. */
function convert(name: string, spec: OptionSpec, raw: string | string[]): unknown {
  const one = Array.isArray(raw) ? raw[raw.length - 1]! : raw;
  switch (spec.type) {
    case 'int':
    case 'number':
      return parseNumeric(name, one, spec.type, spec, false);
    case 'choice':
      if (!spec.choices.includes(one)) throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}, got '${one}'`);
      return one;
    case 'list': {
      const items = splitList(one);
      if (items.length === 0) throw new UsageError(`--${name} expects a comma-separated list${spec.of === 'text' ? '' : ` of ${spec.of === 'int' ? 'integers' : 'numbers'}`}`);
      return spec.of === 'text' ? items : items.map((item) => parseNumeric(name, item, spec.of as 'int' | 'number', spec, true));
    }
    case 'text': {
      const texts = spec.repeatable ? (Array.isArray(raw) ? raw : [raw]) : [one];
      const values = spec.parse ? texts.map((t) => parseText(name, t, spec.parse!)) : texts;
      return spec.repeatable ? values : values[0];
    }
    case 'boolean':
      return true;
  }
}

function label(name: string, spec: OptionSpec): string {
  return spec.type === 'boolean' ? `--${name}` : `--${name} ${spec.placeholder ?? (spec.type === 'int' || spec.type === 'number' ? 'N' : 'VALUE')}`;
}

export interface ParsedArgs<O extends OptionSpecs> {
  values: OptionValues<O>;
  positionals: string[];
  given: ReadonlySet<string>; // the options on the command line (not defaulted): what --resume checks against the saved run
}

/**
 * Parses argv against the declarations: `--name value` and `--name=value` (a value may start with a
 * dash, so `--steps -3` is the value -3), booleans as bare flags, `--` before positionals.
 * Unknown options, missing values, and every type, bound and choice are checked
 * here, once; defaults are filled in and required options enforced. An option in `renamed` (old name
 * -> what to write instead) is refused with that advice.
 */
export function parseOptions<O extends OptionSpecs>(specs: O, argv: readonly string[], command: string, renamed: Readonly<Record<string, string>> = {}): ParsedArgs<O> {
  const raw = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec && Object.hasOwn(renamed, name)) throw new UsageError(`--${name} was renamed: ${renamed[name]}`);
    if (!spec) {
      const meant = Object.entries(specs).filter(([, s]) => s.type === 'text' && s.misnamed?.includes(name)).map(([n, s]) => label(n, s));
      throw new UsageError(`Unknown option '--${name}'${meant.length > 0 ? ` (did you mean ${meant.join(' or ')}?)` : ''}. Run 'hasten ${command} --help' for the options.`);
    }
    let value: string;
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} is a flag and takes no value, got '${arg}'`);
      value = 'true';
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`${label(name, spec)}: the value is missing`);
      value = argv[++i]!;
    }
    // A repeatable option collects its values; any other given twice is ambiguous.
    const repeatable = spec.type === 'text' && spec.repeatable;
    if (!repeatable && raw.has(name)) {
      throw new UsageError(spec.type === 'boolean' ? `--${name} is given twice: give it once` : `--${name} is given twice ('${raw.get(name)![0]}' and '${value}'): give it once`);
    }
    raw.set(name, [...(repeatable ? (raw.get(name) ?? []) : []), value]);
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const given = raw.get(name);
    if (given) values[name] = convert(name, spec, spec.type === 'text' && spec.repeatable ? given : given[0]!);
    else if (spec.type === 'boolean') values[name] = false;
    else if ('required' in spec && spec.required) throw new UsageError(`${label(name, spec)} is required`);
    else if (spec.default !== undefined) values[name] = spec.type === 'text' ? convert(name, spec, spec.default) : spec.type === 'list' ? [...spec.default] : spec.default;
  }
  return { values: values as OptionValues<O>, positionals, given: new Set(raw.keys()) };
}

/** What --help says about an option after its description: required, choices, bounds, default. */
function facts(spec: OptionSpec): string {
  const parts: string[] = [];
  if ('required' in spec && spec.required) parts.push('required');
  if (spec.type === 'choice') parts.push(`one of: ${spec.choices.join(', ')}`);
  if (spec.type === 'int' || spec.type === 'number' || spec.type === 'list') {
    const bounds = boundText(spec);
    if (bounds) parts.push(`${spec.type === 'list' ? 'each ' : ''}${bounds}`);
  }
  if (spec.type === 'text' && spec.repeatable) parts.push('repeatable');
  if (spec.type !== 'boolean' && spec.default !== undefined) parts.push(`default: ${Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default)}`);
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

/** The usage line and the option table of --help, from the declarations. */
export function optionsHelp(specs: OptionSpecs, command: string): string[] {
  const entries = Object.entries(specs);
  const required = entries.filter(([, spec]) => 'required' in spec && spec.required).map(([name, spec]) => label(name, spec));
  const labels = entries.map(([name, spec]) => label(name, spec));
  const width = Math.max(12, ...labels.map((l) => l.length));
  return [
    `Usage: hasten ${command}${required.length > 0 ? ` ${required.join(' ')}` : ''} [options]`,
    '',
    'Options:',
    ...entries.map(([, spec], i) => `  ${labels[i]!.padEnd(width)}  ${spec.description}${facts(spec)}`),
    `  ${'--help'.padEnd(width)}  show this help`,
  ];
}
