// A run folder (a training output, a pair directory, a feature network) is claimed before any work
// starts: a folder that already holds a run is continued only when asked to (resume) and replaced
// only when asked to (overwrite), so no command silently writes over hours of work. A resumed run
// keeps its saved settings; only those that resuming may change (the step target, checkpoint
// cadence) may differ, and anything else is an error naming each difference.

import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from './input-error.js';

/** A run folder used in a way that would lose or mix work: the caller's to fix. */
export class RunFolderError extends InputError {
  override name = 'RunFolderError';
}

export interface RunFolder {
  dir: string;
  what: string; // what the folder holds, for messages: 'a training run'
  files: readonly string[]; // paths, relative to dir, that the run writes; any of them present means a run is there
  resumable?: boolean; // default true
}

export interface RunFolderChoice {
  resume?: boolean; // continue the run the folder holds
  overwrite?: boolean; // replace it (its files only; anything else in the folder stays)
}

/** Checks `folder` against the caller's choice before any work; with overwrite, removes the old run's files. */
export function prepareRunFolder(folder: RunFolder, { resume = false, overwrite = false }: RunFolderChoice): { resuming: boolean } {
  const { dir, what, files, resumable = true } = folder;
  if (resume && overwrite) throw new RunFolderError('--resume and --overwrite exclude each other: continue the run or replace it');
  const present = files.find((file) => existsSync(join(dir, file)));
  if (resume) {
    if (!resumable) throw new RunFolderError(`${what} cannot be resumed: run it again with --overwrite`);
    if (present === undefined) throw new RunFolderError(`${dir} holds no ${what.replace(/^an? /, '')} to resume`);
    return { resuming: true };
  }
  if (present !== undefined) {
    if (!overwrite) {
      const ways = resumable ? 'continue it with --resume, or replace it with --overwrite' : 'replace it with --overwrite, or choose another folder';
      throw new RunFolderError(`${dir} already holds ${what} (${present}): ${ways}`);
    }
    for (const file of files) rmSync(join(dir, file), { recursive: true, force: true });
  }
  return { resuming: false };
}

function describe(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** Throws unless `given` equals `saved` in every setting outside `mayChange` (compared as JSON). */
export function checkResumedSettings(dir: string, saved: object, given: object, mayChange: readonly string[]): void {
  const savedRecord = saved as Record<string, unknown>;
  const givenRecord = given as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(savedRecord), ...Object.keys(givenRecord)])].filter((key) => !mayChange.includes(key));
  const differences = keys
    .filter((key) => JSON.stringify(savedRecord[key]) !== JSON.stringify(givenRecord[key]))
    .map((key) => `${key} ${describe(givenRecord[key])} (saved ${describe(savedRecord[key])})`);
  if (differences.length === 0) return;
  throw new RunFolderError(`${dir}: resuming with settings that differ from the saved run's: ${differences.join(', ')}. `
    + `Resuming may change only ${mayChange.join(', ')}; to change the others start a new run (another folder, or --overwrite)`);
}
