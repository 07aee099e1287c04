// The one error type for a mistake in what the caller asked for (an unknown name, a setting out of
// range, a file that is not what it should be), as opposed to a bug. Library code throws it (or a
// subclass) wherever the message alone tells the user what to fix; the CLI prints such an error as
// one line with exit code 2 and no stack trace, whatever the layer it came from.

export class InputError extends Error {
  override name = 'InputError';
}
