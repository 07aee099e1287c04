// Output files are checked when the command line is parsed, before any work: a run of minutes must
// not end in ENOENT because the folder was misspelt, nor write a PNG under a .jpg name.

import { accessSync, constants, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { InputError } from '../engine/input-error.js';
import { text } from './options.js';

/** Throws an InputError naming the problem unless `path` can be written as a file of one of `extensions`. */
export function checkOutputFile(path: string, extensions: readonly string[]): string {
  const extension = extname(path).toLowerCase();
  if (!extensions.includes(extension)) {
    throw new InputError(`'${path}': this command writes ${extensions.join(' or ')} files${extension ? `, not ${extension}` : ''}; name the file with ${extensions.join(' or ')}`);
  }
  const folder = dirname(resolve(path));
  const kind = (p: string): 'file' | 'folder' | undefined => {
    try {
      return statSync(p).isDirectory() ? 'folder' : 'file';
    } catch {
      return undefined;
    }
  };
  if (kind(path) === 'folder') throw new InputError(`'${path}' is a folder; name a file in it`);
  const parent = kind(folder);
  if (parent === undefined) throw new InputError(`'${path}': the folder ${folder} does not exist`);
  if (parent === 'file') throw new InputError(`'${path}': ${folder} is a file, not a folder`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new InputError(`'${path}': the folder ${folder} is not writable`);
  }
  return path;
}

/** A text option naming an output file of one of `extensions`, checked at parse time. */
export const outputFile = <const S extends { description: string; required?: boolean }>(extensions: readonly string[], spec: S) =>
  text({ placeholder: `FILE${extensions[0]}`, ...spec, parse: (raw: string) => checkOutputFile(raw, extensions) });
