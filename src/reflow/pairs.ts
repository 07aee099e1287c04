// Reflow pairs: noise z, the teacher's ODE sample x = ODE_teacher(z), and its class label, written
// to a directory of safetensors shards plus a manifest.
//
// Generation is streamed and resumable. Pair k's noise and label depend only on (seed, k), and a
// shard is written atomically under its final name before the manifest lists it, so a run killed at
// any moment leaves only finished shards; running the same command again with resume verifies
// them and continues from the first missing one (a folder that holds pairs is never written over
// unasked). The resumed directory is byte for byte what an uninterrupted run writes: shards hold no timestamps, and every shard is sampled in the same batches.
//
//   DIR/manifest.json            { format, version, generation: {...}, count, shards: [{ file, first, count, sha256 }] }
//   DIR/shard-00000.safetensors  noise [n, ...shape] F32, sample [n, ...shape] F32, label [n] I64 (conditional teachers)

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../engine/atomic-write.js';
import { type RunFolderChoice, RunFolderError, prepareRunFolder } from '../engine/run-folder.js';
import { checkpointFiles } from '../engine/checkpoint.js';
import type { HostTensor } from '../engine/host-tensor.js';
import { RngStream } from '../engine/rng.js';
import { decodeSafetensors, encodeSafetensors } from '../engine/safetensors.js';
import { makeGrid, parseGridSpec } from '../diffusion/grids.js';
import { getSampler } from '../diffusion/samplers/index.js';
import { CompiledNetwork } from '../pipeline/sampling-network.js';
import { DEFAULT_GRIDS, generate } from '../pipeline/generate.js';
import { type TrainedModel, loadTrainedModel } from '../pipeline/model-store.js';
import { objectiveProcess } from '../train/objectives.js';
import { InputError } from '../engine/input-error.js';

export interface PairSettings {
  teacher: string; // the teacher: a shipped model name or a training output directory
  sampler: string; // the teacher's ODE sampler
  steps: number; // its steps
  grid?: string; // its time grid; default: the teacher objective's usual grid
  guidance: number; // classifier-free guidance weight of the teacher
  count: number; // pairs to generate
  seed: number; // pair k's noise and label depend only on (seed, k)
  shardSize: number; // pairs per shard file: the work an interruption can lose
  batch: number; // samples per network call
}

export const PAIR_DEFAULTS: Omit<PairSettings, 'teacher' | 'count'> = {
  sampler: 'heun', // EDM's deterministic sampler, as rectified flow++ uses
  steps: 18, // 35 NFE: EDM's setting for 32x32 images
  guidance: 1, // the plain conditional model: the student is sampled without guidance
  seed: 0,
  shardSize: 1024, // 25 MB of 3x32x32 pairs; a few minutes of a 32x32 U-Net teacher on 2 cores
  batch: 256, // large enough to keep the matrix kernels busy, small enough for 32x32 U-Net activations
};

const MANIFEST = 'manifest.json';
const FORMAT = 'hasten-reflow-pairs';
const VERSION = 1;
const NOISE_STREAM = 'reflow-pair-noise';

/** What fixes the bytes of every shard: a resumed run must match it exactly. */
export interface Generation {
  teacher: string; // checkpoint directory of the teacher when the pairs were made
  teacherDigest: string; // sha256 of its weights, so a retrained teacher is not mixed in
  data: string;
  resolution: number | null;
  dataShape: number[];
  numClasses: number;
  sampler: string;
  steps: number;
  grid: string;
  guidance: number;
  seed: number;
  shardSize: number;
  batch: number;
}

export interface ShardRecord {
  file: string;
  first: number; // index of the shard's first pair
  count: number;
  sha256: string;
}

export interface PairManifest {
  format: string;
  version: number;
  generation: Generation;
  count: number;
  nfe: number; // teacher evaluations per pair
  shards: ShardRecord[];
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const shardFile = (index: number): string => `shard-${String(index).padStart(5, '0')}.safetensors`;

/** The shards of `count` pairs: shard i holds pairs [i·size, min(count, (i + 1)·size)). */
function shardPlan(count: number, size: number): { file: string; first: number; count: number }[] {
  return Array.from({ length: Math.ceil(count / size) }, (_, i) => ({ file: shardFile(i), first: i * size, count: Math.min(size, count - i * size) }));
}

function readManifest(dir: string): PairManifest | undefined {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return undefined;
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as PairManifest;
  if (manifest.format !== FORMAT || manifest.version !== VERSION) throw new InputError(`${path} is not a version ${VERSION} ${FORMAT} manifest`);
  return manifest;
}

/** The noise and labels of pairs [first, first + count): functions of (seed, index) only. */
export function pairInputs(generation: Pick<Generation, 'seed' | 'dataShape' | 'numClasses'>, first: number, count: number): { noise: Float32Array; labels?: BigInt64Array } {
  const noise = RngStream.fromSeed(generation.seed, NOISE_STREAM).normal({ start: first, count }, generation.dataShape);
  if (generation.numClasses === 0) return { noise };
  // Classes in turn, as `hasten sample` assigns them: every class equally often.
  return { noise, labels: BigInt64Array.from({ length: count }, (_, i) => BigInt((first + i) % generation.numClasses)) };
}

/** The first setting that differs; the teacher by its weights' digest, not by where it was found. */
function firstDifference(a: Generation, b: Generation): keyof Generation | undefined {
  return (Object.keys(a) as (keyof Generation)[]).find((key) => key !== 'teacher' && JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

export interface PairProgress {
  onShard?: (done: number, total: number) => void; // once for the finished shards found, then after each shard made
  shouldStop?: () => boolean; // checked between shards (Ctrl-C)
  warn?: (message: string) => void;
}

export interface PairRunResult {
  manifest: PairManifest;
  generated: number; // shards made by this run
  reused: number; // finished shards found and verified
  stopped: boolean;
}

/** A pair run's settings checked and resolved against its teacher: what fixes the bytes of every shard. */
export interface PreparedPairs {
  teacher: TrainedModel;
  generation: Generation;
  nfe: number; // teacher evaluations per pair
}

export async function preparePairs(settings: PairSettings): Promise<PreparedPairs> {
  for (const key of ['count', 'steps', 'shardSize', 'batch'] as const) {
    if (!Number.isSafeInteger(settings[key]) || settings[key] < 1) throw new InputError(`pairs: ${key} must be a positive integer, got ${settings[key]}`);
  }
  const teacher = await loadTrainedModel(settings.teacher);
  if (teacher.config.cond === 'caption') throw new InputError(`pairs: teacher '${settings.teacher}' is caption-conditioned; reflow supports unconditional and class-conditional teachers`);
  const sampler = getSampler(settings.sampler);
  const generation: Generation = {
    teacher: teacher.location,
    teacherDigest: sha256(await readFile(checkpointFiles(teacher.location).weights)),
    data: teacher.config.data,
    resolution: teacher.config.resolution ?? null,
    dataShape: [...teacher.config.dataShape],
    numClasses: teacher.model.config.numClasses,
    sampler: settings.sampler,
    steps: settings.steps,
    grid: settings.grid ?? DEFAULT_GRIDS[teacher.config.objective.name],
    guidance: settings.guidance,
    seed: settings.seed,
    shardSize: settings.shardSize,
    batch: settings.batch,
  };
  makeGrid(objectiveProcess(teacher.config.objective), parseGridSpec(generation.grid), generation.steps);
  return { teacher, generation, nfe: sampler.nfe(settings.steps) };
}

/** The tensors of pairs [first, first + count): noise, the teacher's sample from it, and the label. */
export async function makePairShard({ teacher, generation }: PreparedPairs, network: CompiledNetwork, shard: { first: number; count: number }): Promise<Map<string, HostTensor>> {
  const { noise, labels } = pairInputs(generation, shard.first, shard.count);
  const { images } = await generate(teacher, {
    sampler: generation.sampler, steps: generation.steps, grid: generation.grid, guidance: generation.guidance, seed: generation.seed, batch: generation.batch,
    n: shard.count, noise: Float64Array.from(noise), classes: labels && Array.from(labels, Number), network,
  });
  const shape = [shard.count, ...generation.dataShape];
  const tensors = new Map<string, HostTensor>([
    ['noise', { dtype: 'float32', shape, data: noise }],
    ['sample', { dtype: 'float32', shape, data: images.data }],
  ]);
  if (labels) tensors.set('label', { dtype: 'int64', shape: [shard.count], data: labels });
  return tensors;
}

/** A teacher network for makePairShard (dispose it when done). */
export const pairNetwork = ({ teacher }: PreparedPairs): CompiledNetwork => new CompiledNetwork(teacher.model, teacher.params, {}, teacher.name);

const isShardFile = (name: string): boolean => /^shard-\d{5}\.safetensors$/.test(name);

/**
 * The manifest a directory of these pairs has so far; an error when it holds pairs of other
 * settings. With `folder`, the directory is claimed first: pairs already there are continued only
 * with resume and replaced only with overwrite.
 */
export function openPairDirectory(dir: string, generation: Generation, folder?: RunFolderChoice): PairManifest | undefined {
  if (folder) {
    prepareRunFolder({ dir, what: 'reflow pairs', files: [MANIFEST] }, folder);
    // Shards left without their manifest would be adopted by their metadata: an overwrite removes them too.
    if (folder.overwrite && existsSync(dir)) for (const name of readdirSync(dir).filter(isShardFile)) rmSync(join(dir, name));
  }
  mkdirSync(dir, { recursive: true });
  const previous = readManifest(dir);
  if (previous) {
    const differs = firstDifference(previous.generation, generation);
    if (differs) {
      throw new RunFolderError(`${dir} holds pairs generated with another ${differs} (${JSON.stringify(previous.generation[differs])}, now ${JSON.stringify(generation[differs])}): `
        + 'resuming may change only the count (--n); use another --out, or --overwrite');
    }
  }
  return previous;
}

const encodeShard = (tensors: Map<string, HostTensor>, shard: { first: number; count: number }): Uint8Array =>
  encodeSafetensors(tensors, { first: String(shard.first), count: String(shard.count) });

const writeManifest = (dir: string, manifest: PairManifest) => writeFileAtomic(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

/**
 * Generates the pairs of `settings` into `dir`; with `resume`, continues an interrupted run there
 * (the same settings; only the count may change), with `overwrite` replaces what `dir` holds.
 */
export async function generatePairs(settings: PairSettings, dir: string, progress: PairProgress = {}, folder: RunFolderChoice = {}): Promise<PairRunResult> {
  const prepared = await preparePairs(settings);
  const { generation } = prepared;
  const previous = openPairDirectory(dir, generation, folder);
  const listed = new Map((previous?.shards ?? []).map((s) => [s.file, s]));
  const plan = shardPlan(settings.count, settings.shardSize);
  const manifest: PairManifest = { format: FORMAT, version: VERSION, generation, count: settings.count, nfe: prepared.nfe, shards: [] };
  for (const shard of plan) {
    const finished = await verifiedShard(dir, shard, listed.get(shard.file), progress.warn);
    if (finished) manifest.shards.push(finished);
  }
  const reused = manifest.shards.length;
  await writeManifest(dir, manifest);
  progress.onShard?.(reused, plan.length);

  const network = pairNetwork(prepared);
  let generated = 0;
  let stopped = false;
  try {
    for (const shard of plan) {
      if (manifest.shards.some((s) => s.file === shard.file)) continue;
      if (progress.shouldStop?.()) {
        stopped = true;
        break;
      }
      const bytes = encodeShard(await makePairShard(prepared, network, shard), shard);
      // The shard first, then the manifest that lists it: a kill in between leaves a finished shard the next run adopts.
      await writeFileAtomic(join(dir, shard.file), bytes);
      manifest.shards.push({ ...shard, sha256: sha256(bytes) });
      manifest.shards.sort((a, b) => a.first - b.first);
      await writeManifest(dir, manifest);
      generated++;
      progress.onShard?.(reused + generated, plan.length);
    }
  } finally {
    await network.dispose();
  }
  return { manifest, generated, reused, stopped };
}

/**
 * Writes a finished pair directory from shards made elsewhere (by the workers of a sharded run):
 * the same files, byte for byte, as generatePairs writes for these settings. `shards` must be the
 * tensors of every shard of the plan, in order.
 */
export async function writePairs(prepared: PreparedPairs, dir: string, shards: Map<string, HostTensor>[]): Promise<PairManifest> {
  const { generation } = prepared;
  openPairDirectory(dir, generation);
  const count = shards.reduce((total, tensors) => total + tensors.get('noise')!.shape[0]!, 0);
  const plan = shardPlan(count, generation.shardSize);
  if (plan.length !== shards.length) throw new Error(`pairs: ${shards.length} shards given for a plan of ${plan.length}`);
  const manifest: PairManifest = { format: FORMAT, version: VERSION, generation, count, nfe: prepared.nfe, shards: [] };
  for (const [i, shard] of plan.entries()) {
    const bytes = encodeShard(shards[i]!, shard);
    await writeFileAtomic(join(dir, shard.file), bytes);
    manifest.shards.push({ ...shard, sha256: sha256(bytes) });
  }
  await writeManifest(dir, manifest);
  return manifest;
}

/** The record of a finished shard on disk, or undefined when it must be (re)generated. */
async function verifiedShard(dir: string, shard: { file: string; first: number; count: number }, listed: ShardRecord | undefined, warn?: (message: string) => void): Promise<ShardRecord | undefined> {
  const path = join(dir, shard.file);
  if (!existsSync(path)) return undefined;
  const bytes = await readFile(path);
  const digest = sha256(bytes);
  if (listed && listed.first === shard.first && listed.count === shard.count) {
    if (listed.sha256 === digest) return listed;
    warn?.(`${path} does not match its sha256 in the manifest: generating it again`);
    return undefined;
  }
  // Written by a run killed before its manifest update, or the last shard of a run with another --n.
  try {
    const { metadata } = decodeSafetensors(bytes, path);
    if (metadata.first === String(shard.first) && metadata.count === String(shard.count)) return { ...shard, sha256: digest };
  } catch {
    warn?.(`${path} is not a readable shard: generating it again`);
  }
  return undefined;
}

/** A finished pair directory, in memory. */
export interface PairSet {
  dir: string;
  manifest: PairManifest;
  count: number;
  dataShape: number[];
  numClasses: number;
  noise: Float32Array; // [count, ...dataShape]
  sample: Float32Array; // [count, ...dataShape]
  labels?: BigInt64Array; // [count], for conditional teachers
}

/** Loads every pair of a finished directory, checking each shard against the manifest. */
export async function openPairs(dir: string): Promise<PairSet> {
  const manifest = readManifest(dir);
  if (!manifest) throw new InputError(`${dir} holds no reflow pairs (no ${MANIFEST}): make them with 'hasten reflow pairs'`);
  const { generation, count } = manifest;
  const done = manifest.shards.reduce((total, s) => total + s.count, 0);
  if (done !== count) throw new InputError(`${dir} is unfinished: ${done} of ${count} pairs; run the same 'hasten reflow pairs' command again to finish it`);
  const perSample = generation.dataShape.reduce((a, b) => a * b, 1);
  const set: PairSet = {
    dir, manifest, count, dataShape: generation.dataShape, numClasses: generation.numClasses,
    noise: new Float32Array(count * perSample), sample: new Float32Array(count * perSample),
    ...(generation.numClasses > 0 && { labels: new BigInt64Array(count) }),
  };
  for (const shard of manifest.shards) {
    const path = join(dir, shard.file);
    const bytes = await readFile(path);
    if (sha256(bytes) !== shard.sha256) throw new InputError(`${path} does not match its sha256 in the manifest: run 'hasten reflow pairs' again to regenerate it`);
    const { tensors } = decodeSafetensors(bytes, path);
    set.noise.set(tensors.get('noise')!.data as Float32Array, shard.first * perSample);
    set.sample.set(tensors.get('sample')!.data as Float32Array, shard.first * perSample);
    if (set.labels) set.labels.set(tensors.get('label')!.data as BigInt64Array, shard.first);
  }
  return set;
}
