#!/usr/bin/env node
// The `hasten` command: finds the command named by the leading words, parses its flags,
// and turns user errors into one clear line.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { commands } from './commands/index.js';
import { UsageError, type Command } from './command.js';

function helpText(command: Command): string {
  const lines = [`hasten ${command.path.join(' ')}: ${command.summary}`, '', 'Options:'];
  const entries = Object.entries(command.options);
  const labels = entries.map(([name, spec]) => `--${name}${spec.type === 'string' ? ` ${spec.placeholder ?? 'VALUE'}` : ''}`);
  const width = Math.max(12, ...labels.map((l) => l.length));
  entries.forEach(([, spec], i) => {
    const fallback = spec.default !== undefined ? ` (default: ${String(spec.default)})` : '';
    lines.push(`  ${labels[i]!.padEnd(width)}  ${spec.description}${fallback}`);
  });
  lines.push(`  ${'--help'.padEnd(width)}  show this help`);
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
    const { values, positionals } = parseArgs({
      args: rest,
      options: command.options,
      allowPositionals: true,
      strict: true,
    });
    await command.run(values as Record<string, string | boolean | undefined>, positionals);
    return 0;
  } catch (error) {
    const err = error as Error & { code?: string };
    if (err instanceof UsageError || err.code?.startsWith('ERR_PARSE_ARGS')) {
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
