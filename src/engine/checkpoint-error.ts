import { InputError } from './input-error.js';

/**
 * A file that cannot be loaded as a checkpoint or tensor file. The message always starts with the
 * file's path, so a failure deep inside a training run still says which file to look at. It is the
 * user's file to fix, so the CLI prints it as one line.
 */
export class CheckpointError extends InputError {
  /** The file (or in-memory source name) that could not be loaded. */
  readonly path: string;
  /** What is wrong with it, without the path. */
  readonly problem: string;

  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'CheckpointError';
    this.path = path;
    this.problem = problem;
  }
}

/** The CheckpointError for a file that could not be opened or read: 'file not found', or `verb` and the system's reason. */
export function unreadableFile(path: string, error: unknown, verb: 'open' | 'read'): CheckpointError {
  const code = (error as NodeJS.ErrnoException).code;
  return new CheckpointError(path, code === 'ENOENT' ? 'file not found' : `cannot ${verb}: ${(error as Error).message}`);
}
