// Every CLI command, in the order `hasten --help` lists them.
import type { Command } from '../command.js';
import { benchEngineCommand } from './bench-engine.js';

export const commands: Command[] = [
  benchEngineCommand,
];
