// Ctrl-C for long jobs: the first asks the job to stop at its next safe point (it checkpoints), a
// second quits at once. Either way the process exits with 130 (interrupted), so a script running
// the command sees that the job did not finish.

/** The exit status of a command stopped by Ctrl-C (128 + SIGINT). */
export const INTERRUPTED = 130;

export async function stoppable<T>(what: string, body: (shouldStop: () => boolean) => Promise<T>): Promise<T> {
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(INTERRUPTED);
    interrupted = true;
    process.stderr.write(`\n${what} (Ctrl-C again to quit now)\n`);
  };
  process.on('SIGINT', onSignal);
  try {
    return await body(() => interrupted);
  } finally {
    process.off('SIGINT', onSignal);
    if (interrupted) process.exitCode = INTERRUPTED;
  }
}
