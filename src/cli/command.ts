// The shape every CLI command has. Commands live one per file under src/cli/commands/ and are listed
// in src/cli/commands/index.ts; each is made with defineCommand, whose `run` receives its options
// already parsed, checked and typed (src/cli/options.ts). How to write one: docs/cli.md.

import { type OptionSpecs, type OptionValues, UsageError } from './options.js';

export { UsageError } from './options.js';

export interface Command {
  /** Words that select the command, e.g. ['bench', 'samplers']. */
  path: string[];
  summary: string;
  options: OptionSpecs;
  /** Extra text printed after the options in --help. */
  details?: string;
  /** Options that were renamed, old name -> what to write instead: the old spelling is refused with that line. */
  renamed?: Readonly<Record<string, string>>;
  /** Runs with values parsed from `options`; `positionals` only when the command declares it takes them; `given`: the options on the command line. */
  run(values: Record<string, unknown>, positionals: string[], given: ReadonlySet<string>): Promise<void>;
}

export interface CommandDefinition<O extends OptionSpecs> {
  path: string[];
  summary: string;
  options: O;
  details?: string;
  renamed?: Readonly<Record<string, string>>;
  /** Whether words that are not options are accepted (default: no, they are an error). */
  positionals?: boolean;
  run(values: OptionValues<O>, positionals: string[], given: ReadonlySet<string>): Promise<void>;
}

/** A command whose `run` sees typed values: OptionValues of its declarations. */
export function defineCommand<const O extends OptionSpecs>(definition: CommandDefinition<O>): Command {
  const { positionals: takesPositionals = false, run, ...rest } = definition;
  return {
    ...rest,
    run: (values, positionals, given) => {
      if (!takesPositionals && positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (options start with --)`);
      return run(values as OptionValues<O>, positionals, given);
    },
  };
}
