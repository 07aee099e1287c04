// Ctrl-C for long jobs: the first asks the job to stop at its next safe point (it checkpoints), a
// second quits at once.

export async function stoppable<T>(what: string, body: (shouldStop: () => boolean) => Promise<T>): Promise<T> {
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${what} (Ctrl-C again to quit now)\n`);
  };
  process.on('SIGINT', onSignal);
  try {
    return await body(() => interrupted);
  } finally {
    process.off('SIGINT', onSignal);
  }
}
