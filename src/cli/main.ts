#!/usr/bin/env node
// The `hasten` command: finds the command named by the leading words, parses its flags,
// and turns user errors (InputError, from any layer) into one clear line with exit code 2.

import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands } from './commands/index.js';
import type { Command } from './command.js';
import { InputError } from '../engine/input-error.js';
import { optionsHelp, parseOptions } from './options.js';
import { packageRoot } from '../paths.js';

function helpText(command: Command): string {
  const name = command.path.join(' ');
  const lines = [`hasten ${name}: ${command.summary}`, '', ...optionsHelp(command.options, name)];
  if (command.details) lines.push('', command.details);
  return lines.join('\n');
}

function overview(): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  return [
    'hasten: fast diffusion-model generation on ONNX Runtime',
    '',
    'Usage: hasten <command> [options]    hasten --version',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    "Run 'hasten <command> --help' for a command's options.",
  ].join('\n');
}

function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  let best: { command: Command; rest: string[] } | undefined;
  for (const command of commands) {
    const n = command.path.length;
    if (argv.length >= n && command.path.every((word, i) => argv[i] === word)) {
      if (!best || n > best.command.path.length) best = { command, rest: argv.slice(n) };
    }
  }
  return best;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(overview());
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    console.log(packageVersion());
    return 0;
  }
  const found = findCommand(argv);
  const group = commands.filter((c) => c.path.length > 1 && c.path[0] === argv[0]);
  if (!found && group.length > 0 && (argv.length === 1 || argv[1]!.startsWith('-'))) {
    // `hasten bench`: the word of a group of commands, alone; list them.
    const width = Math.max(...group.map((c) => c.path.join(' ').length));
    console.log([`hasten ${argv[0]}: one of`, ...group.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`), '', `Run 'hasten ${argv[0]} <command> --help' for a command's options.`].join('\n'));
    return argv.length === 1 || argv[1] === '--help' || argv[1] === '-h' ? 0 : 2;
  }
  if (!found) {
    const words = argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
    console.error(`hasten: unknown command '${words}'. Run 'hasten --help' for the list.`);
    return 2;
  }
  const { command, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpText(command));
    return 0;
  }
  try {
    const { values, positionals, given } = parseOptions(command.options, rest, command.path.join(' '), command.renamed);
    await command.run(values, positionals, given);
    return 0;
  } catch (error) {
    const err = error as Error;
    if (err instanceof InputError) {
      console.error(`hasten ${command.path.join(' ')}: ${err.message}`);
      return 2;
    }
    if (process.env.HASTEN_DEBUG) console.error(err.stack);
    console.error(`hasten ${command.path.join(' ')}: ${err.message}`);
    return 1;
  }
}

/** The version in hasten's package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === fileURLToPath(import.meta.url);
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then((code) => {
    // A command stopped by Ctrl-C has already set 130 (stoppable.ts); a failure code wins over it.
    if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
  });
}
