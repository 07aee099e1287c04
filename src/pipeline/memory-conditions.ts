// The snippets a memory-conditioned model (GMem) samples with: drawn from a bank (uniformly in
// proportion to the entries' frequencies, or tied to each sample's initial noise), one chosen entry,
// or an interpolation between two snippets. Without a --bank, a model uses the bank shipped beside
// its weights (NAME/bank) or else the bank it was trained on.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BankError, type MemoryBank, type SnippetSelection, loadBank, normalise, selectEntries } from '../gmem/bank.js';
import { type MemoryConditions, initialNoise } from './generate.js';
import type { TrainedModel } from './model-store.js';

/** The bank a model samples with: `path` if given, else NAME/bank beside the weights, else the bank it was trained on. */
export async function modelBank(trained: TrainedModel, path?: string): Promise<MemoryBank> {
  const trainedOn = (trained.config.bank as { bank?: string } | undefined)?.bank;
  const candidates = path ? [path] : [join(trained.location, 'bank'), join(trained.location, '..', 'bank'), ...(trainedOn ? [trainedOn] : [])];
  const found = candidates.find((dir) => existsSync(join(dir, 'bank.json')));
  if (!found) throw new BankError(path ? `'${path}' is not a memory bank (no bank.json)` : `model '${trained.name}' is memory-conditioned and no bank was found beside it or at ${trainedOn ?? '(none recorded)'}: pass --bank DIR`);
  const bank = await loadBank(found);
  bank.checkWidth(trained.model.config.condVectorDim, `model '${trained.name}'`);
  return bank;
}

function conditionsOf(bank: MemoryBank, entries: number[]): MemoryConditions {
  const labels = bank.labels && entries.map((e) => Number(bank.labels![e]));
  return { snippets: bank.normalisedRows(entries), ...(labels && labels.every((c) => c >= 0) && { labels }) };
}

export interface SnippetChoice {
  select: SnippetSelection; // how entries are drawn when no entry is chosen
  entry?: number; // every sample uses this entry
}

/** The snippets of samples first .. first + n - 1 of `seed` drawn from `bank`. */
export function drawnConditions(trained: TrainedModel, bank: MemoryBank, n: number, seed: number, choice: SnippetChoice, first = 0): MemoryConditions {
  if (choice.entry !== undefined) {
    bank.snippet(choice.entry); // checks the entry exists
    return conditionsOf(bank, new Array<number>(n).fill(choice.entry));
  }
  const noise = choice.select === 'noise' ? initialNoise(seed, first, n, trained.config.dataShape) : undefined;
  return conditionsOf(bank, selectEntries(bank, choice.select, n, seed, noise, first));
}

/** n snippets from a to b (raw snippets; each normalised, blended with t = 0 .. 1, normalised again). */
export function interpolatedConditions(a: Float32Array, b: Float32Array, n: number): MemoryConditions {
  if (a.length !== b.length) throw new BankError(`cannot interpolate snippets of widths ${a.length} and ${b.length}`);
  const na = normalise(a);
  const nb = normalise(b);
  const snippets = new Float32Array(n * a.length);
  for (let k = 0; k < n; k++) {
    const t = n === 1 ? 0 : k / (n - 1);
    snippets.set(normalise(na.map((v, j) => (1 - t) * v + t * nb[j]!)), k * a.length);
  }
  return { snippets };
}
