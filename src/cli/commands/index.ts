// Every CLI command, in the order `hasten --help` lists them.
import type { Command } from '../command.js';

export const commands: Command[] = [];
