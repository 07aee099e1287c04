// Runs the CLI in-process, capturing what it prints.

import { mock } from 'node:test';
import { main } from '../../src/cli/main.js';

export async function hasten(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out = mock.method(console, 'log', () => undefined);
  const err = mock.method(console, 'error', () => undefined);
  try {
    const code = await main(argv);
    return { code, out: out.mock.calls.map((call) => String(call.arguments[0])), err: err.mock.calls.map((call) => String(call.arguments[0])) };
  } finally {
    out.mock.restore();
    err.mock.restore();
  }
}
