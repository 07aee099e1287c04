#!/usr/bin/env node
// The `hasten` command: finds the command named by the leading words, parses its flags,
// and turns user errors (InputError, from any layer) into one clear line with exit code 2.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commands } from './commands/index.js';
import type { Command } from './command.js';
import { InputError } from '../engine/input-error.js';
import { optionsHelp, parseOptions } from './options.js';

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
  const found = findCommand(argv);
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
    const { values, positionals } = parseOptions(command.options, rest, command.path.join(' '));
    await command.run(values, positionals);
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

function invokedDirectly(): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === fileURLToPath(import.meta.url);
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
