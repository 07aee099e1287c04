// Requests that size an allocation (--n, --batch, --scale, evaluation sizes) are checked against
// what the machine can hold before any work starts, so that a mistyped count fails at once with the
// size it would need instead of growing to gigabytes first.

import { totalmem } from 'node:os';
import { InputError } from './input-error.js';

/**
 * The bytes a request may use: HASTEN_MEMORY_LIMIT_MB when set, else 80% of the machine's memory. A
 * browser bundle has neither (node:os is an empty stub there): no budget, the tab's own limit applies.
 */
export function memoryBudget(): number {
  const raw = globalThis.process?.env.HASTEN_MEMORY_LIMIT_MB;
  if (raw === undefined || raw === '') return typeof totalmem === 'function' ? 0.8 * totalmem() : Infinity;
  const megabytes = Number(raw);
  if (!(Number.isFinite(megabytes) && megabytes > 0)) throw new InputError(`HASTEN_MEMORY_LIMIT_MB must be a positive number, got '${raw}'`);
  return megabytes * 2 ** 20;
}

/** 1.5 GB, 300 MB, 12 KB. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toPrecision(value < 10 ? 2 : 3)} ${units[unit]}`;
}

/** Throws an InputError unless `bytes` fits the budget; `what` says what would need them. */
export function checkMemory(what: string, bytes: number, budget = memoryBudget()): void {
  if (bytes <= budget) return;
  throw new InputError(`${what} would need about ${formatBytes(bytes)} of memory, more than the ${formatBytes(budget)} allowed here (HASTEN_MEMORY_LIMIT_MB); ask for less`);
}
