// GMem's experiment: sample quality against training images seen, for runs trained the same way
// but conditioned differently (unconditional, class labels, memory snippets, and ablations of
// GMem's switches). Each run keeps EMA snapshots (hasten train --snapshot-every); every snapshot is
// sampled and scored in the evaluation network's space as `hasten eval` scores a model (FD and its
// real-vs-real floor over K independent real sets, mean and spread) with the accuracy of the class
// the samples should have (the label for class runs, the snippet's source image for memory runs). Rows already measured
// are read back from a cache file, so the benchmark resumes and only scores new snapshots.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../engine/input-error.js';
import type { FeatureNet } from '../eval/feature-net.js';
import { generate } from '../pipeline/generate.js';
import { openFeatureNet, scoreSamples } from '../pipeline/evaluate-model.js';
import { drawnConditions, modelBank } from '../pipeline/memory-conditions.js';
import { type TrainedModel, loadTrainedModel } from '../pipeline/model-store.js';
import type { SnippetSelection } from '../gmem/bank.js';
import { type Series, lineChart } from '../plot/svg.js';
import { type OutOfBankResult, outOfBankAccuracy } from './gmem-out-of-bank.js';

export interface GmemRow {
  run: string; // unconditional, class, gmem, or gmem- plus the switch of an ablation
  step: number;
  images: number; // training images seen at the snapshot
  n: number;
  real_sets: number; // K
  fd: number; // mean FD over the K real sets
  fd_std: number; // its standard deviation over the K real sets
  fd_floor: number; // FD between two independent real sets of n, mean over K pairs
  accuracy: number | null; // null for unconditional runs
  nfe: number;
  guidance: number;
  sampler: string;
  steps: number;
  select: SnippetSelection | null; // memory runs: how snippets were drawn
  seconds: number; // sampling and scoring time of the row
}

export interface GmemBenchSettings {
  runs: { name: string; dir: string; bank?: string }[]; // bank: sample memory runs with this bank (say a compressed one) instead of their own
  n: number; // samples per intermediate point
  finalN: number; // samples at each run's last snapshot
  sampler: string;
  steps: number;
  guidance: number[]; // guidance weights: class runs at each, memory runs too when `memoryGuidance`
  guidedSteps?: number; // sampler steps of guided rows (weight != 1; default `steps`): half of them puts guided and unguided rows at equal NFE
  guidedLast?: boolean; // guided rows only at each run's last snapshot (the best guided FD the other runs are read against)
  memoryGuidance: boolean; // also guide memory runs against the zero snippet
  select: SnippetSelection;
  seed: number;
  batch: number;
  realSets: number; // K independent real sets behind fd, fd_std and fd_floor (the evaluation protocol, docs/eval.md)
  cache?: string; // JSONL of rows already measured (read and appended)
  outOfBank?: number; // memory runs: also sample from the snippets of this many images outside the bank, at the last snapshot
  onRow?: (row: GmemRow) => void;
}

/** The EMA snapshots of a run directory, by step. */
export function runSnapshots(dir: string): { step: number; dir: string }[] {
  const root = join(dir, 'snapshots');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => ({ name, step: Number(/^step-(\d+)$/.exec(name)?.[1] ?? NaN) }))
    .filter((entry) => Number.isSafeInteger(entry.step))
    .sort((a, b) => a.step - b.step)
    .map((entry) => ({ step: entry.step, dir: join(root, entry.name) }));
}

const rowKey = (row: Pick<GmemRow, 'run' | 'step' | 'n' | 'real_sets' | 'guidance' | 'sampler' | 'steps' | 'select'>): string =>
  JSON.stringify([row.run, row.step, row.n, row.real_sets, row.guidance, row.sampler, row.steps, row.select]);

async function scoreSnapshot(trained: TrainedModel, net: FeatureNet, run: string, bank: string | undefined, step: number, n: number, guidance: number, steps: number, settings: GmemBenchSettings): Promise<GmemRow> {
  const started = performance.now();
  const memoryModel = trained.model.config.condVectorDim > 0;
  const memory = memoryModel ? drawnConditions(trained, await modelBank(trained, bank), n, settings.seed, { select: settings.select }) : undefined;
  const generated = await generate(trained, { sampler: settings.sampler, steps, n, seed: settings.seed, batch: settings.batch, guidance, memory });
  const scores = await scoreSamples(trained, generated.images, generated.labels, settings.seed, net, { realSets: settings.realSets });
  if (!('fd' in scores)) throw new Error(`bench gmem scores image models; run '${run}' draws points`);
  return {
    run, step, images: step * trained.config.batch, n, real_sets: settings.realSets,
    fd: scores.fd, fd_std: scores.fd_std, fd_floor: scores.fd_floor, accuracy: scores.accuracy ?? null,
    nfe: generated.nfe, guidance, sampler: settings.sampler, steps,
    select: memoryModel ? settings.select : null,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The rows of a cache file by their key (a row measured again replaces the earlier one). */
function readCache(path: string | undefined): Map<string, GmemRow> {
  const cached = new Map<string, GmemRow>();
  if (path && existsSync(path)) {
    for (const [i, line] of readFileSync(path, 'utf8').split('\n').entries()) {
      if (!line.trim()) continue;
      let row: GmemRow;
      try {
        row = JSON.parse(line) as GmemRow;
      } catch {
        throw new InputError(`the row cache '${path}' is not JSON lines: line ${i + 1} does not parse`);
      }
      cached.set(rowKey(row), row);
    }
  }
  return cached;
}

/**
 * The rows benchGmem would report, read from the cache alone without loading any snapshot: the
 * report of runs whose directories are gone. A run's last snapshot is the last step the cache holds
 * for it under these settings; a memory run's rows keep the selection they were drawn with (a
 * noise-tied switch row beside uniform ones).
 */
export function cachedGmemRows(settings: GmemBenchSettings): GmemRow[] {
  if (!settings.cache || !existsSync(settings.cache)) throw new InputError(`no cache of rows at '${settings.cache ?? '(none given)'}'`);
  const cached = [...readCache(settings.cache).values()];
  return settings.runs.flatMap(({ name }) => {
    const own = cached.filter((r) => r.run === name && r.sampler === settings.sampler && r.real_sets === settings.realSets
      && settings.guidance.includes(r.guidance) && r.steps === (r.guidance === 1 ? settings.steps : (settings.guidedSteps ?? settings.steps)));
    if (own.length === 0) throw new InputError(`the cache '${settings.cache}' holds no rows of run '${name}' for ${settings.sampler} ${settings.steps} steps, K = ${settings.realSets}`);
    const last = Math.max(...own.map((r) => r.step));
    if (!own.some((r) => r.step === last && r.n === settings.finalN)) throw new InputError(`the cache '${settings.cache}' holds run '${name}' at step ${last} but not at n = ${settings.finalN} (--final-n)`);
    return own
      .filter((r) => r.n === (r.step === last ? settings.finalN : settings.n) && (r.guidance === 1 || r.step === last || !settings.guidedLast))
      .sort((a, b) => a.step - b.step || settings.guidance.indexOf(a.guidance) - settings.guidance.indexOf(b.guidance));
  });
}

/** Scores every snapshot of every run (the last at finalN samples), reusing cached rows. */
export async function benchGmem(settings: GmemBenchSettings): Promise<{ rows: GmemRow[]; out_of_bank?: (OutOfBankResult & { run: string; step: number })[] }> {
  const cached = readCache(settings.cache);
  const rows: GmemRow[] = [];
  const outOfBank: (OutOfBankResult & { run: string; step: number })[] = [];
  for (const { name, dir, bank } of settings.runs) {
    const snapshots = runSnapshots(dir);
    let net: FeatureNet | undefined;
    try {
      for (const [i, snapshot] of snapshots.entries()) {
        const last = i === snapshots.length - 1;
        const n = last ? settings.finalN : settings.n;
        const trained = await loadTrainedModel(snapshot.dir);
        const guided = trained.model.config.numClasses > 0 || (settings.memoryGuidance && trained.model.config.condVectorDim > 0);
        const weights = guided ? settings.guidance.filter((w) => w === 1 || last || !settings.guidedLast) : [1];
        for (const guidance of weights) {
          const steps = guidance === 1 ? settings.steps : (settings.guidedSteps ?? settings.steps);
          const key = rowKey({ run: name, step: snapshot.step, n, real_sets: settings.realSets, guidance, sampler: settings.sampler, steps, select: trained.model.config.condVectorDim > 0 ? settings.select : null });
          let row = cached.get(key);
          if (!row) {
            net ??= await openFeatureNet(trained);
            row = await scoreSnapshot(trained, net, name, bank, snapshot.step, n, guidance, steps, settings);
            if (settings.cache) await appendFile(settings.cache, `${JSON.stringify(row)}\n`);
          }
          rows.push(row);
          settings.onRow?.(row);
        }
        if (settings.outOfBank && i === snapshots.length - 1 && trained.model.config.condVectorDim > 0) {
          net ??= await openFeatureNet(trained);
          outOfBank.push({ run: name, step: snapshot.step, ...(await outOfBankAccuracy(trained, net, { ...settings, n: settings.outOfBank })) });
        }
      }
    } finally {
      await net?.dispose();
    }
  }
  return settings.outOfBank ? { rows, out_of_bank: outOfBank } : { rows };
}

/**
 * The curves of the rows against training images seen: FD (log scale) and accuracy, one line per run
 * and guidance weight; a run's best guided FD at its last snapshot is a dashed level line (the figure
 * the other runs are read against) rather than a one-point curve.
 */
export function gmemCharts(rows: readonly GmemRow[]): { fd: string; accuracy: string } {
  const lines = new Map<string, GmemRow[]>();
  for (const row of rows) {
    const name = row.guidance === 1 ? row.run : `${row.run}, guidance ${row.guidance}`;
    lines.set(name, [...(lines.get(name) ?? []), row]);
  }
  const curves = (value: (row: GmemRow) => number | null): Series[] =>
    [...lines].filter(([, group]) => group.length > 1 || group[0]!.guidance === 1).map(([name, group]) => ({ name, points: group.map((r) => [r.images, value(r) ?? NaN] as const) }));
  const images = rows.map((r) => r.images);
  const levels: Series[] = [];
  for (const run of new Set(rows.map((r) => r.run))) {
    const own = rows.filter((r) => r.run === run);
    const lastStep = Math.max(...own.map((r) => r.step));
    const best = own.filter((r) => r.guidance !== 1 && r.step === lastStep).sort((a, b) => a.fd - b.fd)[0];
    if (best) levels.push({ name: `${run}, best guided (w ${best.guidance}, ${best.nfe} NFE)`, dashed: true, points: [[Math.min(...images), best.fd], [Math.max(...images), best.fd]] });
  }
  const first = rows[0];
  const sampling = first ? `${first.sampler} ${first.steps} steps, n = ${first.n} (last point ${Math.max(...rows.map((r) => r.n))})` : '';
  return {
    fd: lineChart([...curves((r) => r.fd), ...levels], { title: `FD against training images (${sampling})`, xLabel: 'training images seen', yLabel: 'FD (evaluation network features)', yScale: 'log', width: 960, height: 560 }),
    accuracy: lineChart(curves((r) => r.accuracy), { title: 'Class accuracy of the samples against training images', xLabel: 'training images seen', yLabel: 'accuracy (evaluation network)', width: 960, height: 560 }),
  };
}
