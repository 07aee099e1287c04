/**
 * A file that cannot be loaded as a checkpoint or tensor file. The message always starts with the
 * file's path, so a failure deep inside a training run still says which file to look at.
 */
export class CheckpointError extends Error {
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
