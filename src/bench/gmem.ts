// GMem's experiment: sample quality against training images seen, for runs trained the same way
// but conditioned differently (unconditional, class labels, memory snippets, and ablations of
// GMem's switches). Each run keeps EMA snapshots (hasten train --snapshot-every); every snapshot is
// sampled and scored in the evaluation network's space: FD (with a bootstrap standard deviation over
// the generated set), its real-vs-real floor, and the accuracy of the class the samples should have
// (the label for class runs, the snippet's source image for memory runs). Rows already measured
// are read back from a cache file, so the benchmark resumes and only scores new snapshots.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDataset } from '../data/registry.js';
import { RngStream } from '../engine/rng.js';
import { classAccuracy } from '../eval/feature-net.js';
import { frechetDistance } from '../eval/frechet.js';
import { generate } from '../pipeline/generate.js';
import { EVALUATION_SEED_OFFSET, openFeatureNet } from '../pipeline/evaluate-model.js';
import { drawnConditions, modelBank } from '../pipeline/memory-conditions.js';
import { type TrainedModel, loadTrainedModel } from '../pipeline/model-store.js';
import type { SnippetSelection } from '../gmem/bank.js';

export interface GmemRow {
  run: string; // unconditional, class, gmem, or gmem- plus the switch of an ablation
  step: number;
  images: number; // training images seen at the snapshot
  n: number;
  fd: number;
  fd_std: number; // bootstrap standard deviation of fd over the generated set
  fd_floor: number; // FD between two independent real sets of n
  accuracy: number | null; // null for unconditional runs
  nfe: number;
  guidance: number;
  sampler: string;
  steps: number;
  select: SnippetSelection | null; // memory runs: how snippets were drawn
  seconds: number; // sampling and scoring time of the row
}

export interface GmemBenchSettings {
  runs: { name: string; dir: string }[];
  n: number; // samples per intermediate point
  finalN: number; // samples at each run's last snapshot
  sampler: string;
  steps: number;
  guidance: number[]; // guidance weights: class runs at each, memory runs too when `memoryGuidance`
  memoryGuidance: boolean; // also guide memory runs against the zero snippet
  select: SnippetSelection;
  seed: number;
  batch: number;
  bootstrap: number; // resamples for fd_std
  cache?: string; // JSONL of rows already measured (read and appended)
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

function bootstrapStd(fake: Float64Array, real: Float64Array, dim: number, resamples: number, seed: number): number {
  const n = fake.length / dim;
  const picks = RngStream.fromSeed(seed, 'fd-bootstrap').integers({ start: 0, count: resamples }, n, n);
  const values = Array.from({ length: resamples }, (_, r) => {
    const sample = new Float64Array(fake.length);
    for (let i = 0; i < n; i++) sample.set(fake.subarray(picks[r * n + i]! * dim, (picks[r * n + i]! + 1) * dim), i * dim);
    return frechetDistance(sample, real, dim);
  });
  const mean = values.reduce((a, b) => a + b, 0) / resamples;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (resamples - 1));
}

const rowKey = (row: Pick<GmemRow, 'run' | 'step' | 'n' | 'guidance' | 'sampler' | 'steps' | 'select'>): string =>
  JSON.stringify([row.run, row.step, row.n, row.guidance, row.sampler, row.steps, row.select]);

async function scoreSnapshot(trained: TrainedModel, run: string, step: number, n: number, guidance: number, settings: GmemBenchSettings): Promise<GmemRow> {
  const started = performance.now();
  const memoryModel = trained.model.config.condVectorDim > 0;
  const memory = memoryModel ? drawnConditions(trained, await modelBank(trained), n, settings.seed, { select: settings.select }) : undefined;
  const generated = await generate(trained, { sampler: settings.sampler, steps: settings.steps, n, seed: settings.seed, batch: settings.batch, guidance, memory });
  const dataset = openDataset(trained.config.data, { resolution: trained.config.resolution });
  const net = await openFeatureNet(trained);
  try {
    const realSeed = settings.seed + EVALUATION_SEED_OFFSET;
    const [a, b] = [dataset.sample({ start: 0, count: n }, realSeed), dataset.sample({ start: n, count: n }, realSeed)];
    const fake = await net.features(generated.images);
    const realA = (await net.features(a.x)).features;
    const realB = (await net.features(b.x)).features;
    const dim = net.config.featureDim;
    const labels = generated.labels && { dtype: 'int64' as const, shape: [n], data: BigInt64Array.from(generated.labels, (c) => BigInt(c)) };
    return {
      run, step, images: step * trained.config.batch, n,
      fd: frechetDistance(fake.features, realA, dim),
      fd_std: bootstrapStd(fake.features, realA, dim, settings.bootstrap, settings.seed),
      fd_floor: frechetDistance(realB, realA, dim),
      accuracy: labels ? classAccuracy(fake.logits, net.config.numClasses, labels) : null,
      nfe: generated.nfe, guidance, sampler: settings.sampler, steps: settings.steps,
      select: memoryModel ? settings.select : null,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await net.dispose();
  }
}

/** Scores every snapshot of every run (the last at finalN samples), reusing cached rows. */
export async function benchGmem(settings: GmemBenchSettings): Promise<{ rows: GmemRow[] }> {
  const cached = new Map<string, GmemRow>();
  if (settings.cache && existsSync(settings.cache)) {
    for (const line of readFileSync(settings.cache, 'utf8').split('\n')) if (line.trim()) cached.set(rowKey(JSON.parse(line) as GmemRow), JSON.parse(line) as GmemRow);
  }
  const rows: GmemRow[] = [];
  for (const { name, dir } of settings.runs) {
    const snapshots = runSnapshots(dir);
    for (const [i, snapshot] of snapshots.entries()) {
      const n = i === snapshots.length - 1 ? settings.finalN : settings.n;
      const trained = await loadTrainedModel(snapshot.dir);
      const guided = trained.model.config.numClasses > 0 || (settings.memoryGuidance && trained.model.config.condVectorDim > 0);
      for (const guidance of guided ? settings.guidance : [1]) {
        const key = rowKey({ run: name, step: snapshot.step, n, guidance, sampler: settings.sampler, steps: settings.steps, select: trained.model.config.condVectorDim > 0 ? settings.select : null });
        let row = cached.get(key);
        if (!row) {
          row = await scoreSnapshot(trained, name, snapshot.step, n, guidance, settings);
          if (settings.cache) await appendFile(settings.cache, `${JSON.stringify(row)}\n`);
        }
        rows.push(row);
        settings.onRow?.(row);
      }
    }
  }
  return { rows };
}
