// A memory bank (GMem): one semantic snippet per image of a dataset, from a frozen encoder, stored
// raw and L2-normalised at use. A bank is a directory of bank.safetensors (the tensors) and bank.json
// (what built it: encoder, dataset, seed and stream range, width, compression, additions).
//
// Entries are either full rows or, after SVD compression, mean + coefficients · basis (GMem's
// rank-r factorisation, mean-centred); an added snippet is always a full row, so "exact" stays exact.
// K-means compression replaces the snippets by K centroids whose frequencies are the cluster sizes;
// selection draws entries in proportion to their frequencies (1 each for an uncompressed bank).

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dataset, DatasetBatch } from '../data/dataset.js';
import { writeFileAtomic } from '../engine/atomic-write.js';
import { prepareRunFolder } from '../engine/run-folder.js';
import { InputError } from '../engine/input-error.js';
import { type HostTensor, sameShape } from '../engine/host-tensor.js';
import { RngStream, type Seed } from '../engine/rng.js';
import { loadSafetensors, saveSafetensors } from '../engine/safetensors-file.js';
import { symmetricEigen } from '../eval/frechet.js';
import { mirrorImages } from '../data/folder.js';
import type { SnippetEncoder } from './encoder.js';

export const BANK_FORMAT = 'hasten-memory-bank';
const BANK_VERSION = 1;

/** A problem with a bank or its use (width mismatch, bad entry, torn files): one line for the user. */
export class BankError extends InputError {
  override name = 'BankError';
}

export type BankAddition =
  | { kind: 'snippet'; source: string } // an exact snippet, e.g. of an image file
  | { kind: 'interpolation'; a: number; b: number; t: number }; // (1 - t)·a + t·b of two normalised entries

export interface BankMetadata {
  format: typeof BANK_FORMAT;
  version: number;
  encoder: string; // name or path of the encoder
  data: string; // dataset spec the snippets come from
  resolution: number;
  seed: number; // dataset seed
  start: number; // first stream position
  count: number; // images encoded: stream positions [start, start + count)
  dim: number; // snippet width
  mirrored: boolean; // whether each image's mirror image has its snippet too (training draws it with p = 0.5)
  labels: boolean; // whether the source image's class is stored per entry
  compression: null | { kind: 'kmeans'; k: number; iterations: number; seed: number } | { kind: 'svd'; rank: number; energy: number };
  additions: BankAddition[];
}

interface Factorised {
  mean: Float32Array; // [dim]
  basis: Float32Array; // [rank, dim], orthonormal rows
  coefficients: Float32Array; // [n, rank]
}

export class MemoryBank {
  constructor(
    readonly metadata: BankMetadata,
    private readonly rows: Float32Array, // full rows [m, dim], after the factorised entries
    private readonly factorised: Factorised | undefined,
    readonly frequencies: Float32Array, // [size]
    readonly labels: BigInt64Array | undefined, // [size] source class, -1 when unknown
    readonly mirroredRows: Float32Array | undefined, // [count, dim] snippets of the mirror images (uncompressed banks)
  ) {
    if (frequencies.length !== this.size) throw new BankError(`bank: ${frequencies.length} frequencies for ${this.size} entries`);
  }

  get dim(): number {
    return this.metadata.dim;
  }

  private get factorisedCount(): number {
    return this.factorised ? this.factorised.coefficients.length / this.rank : 0;
  }

  private get rank(): number {
    return this.factorised ? this.factorised.basis.length / this.dim : 0;
  }

  get size(): number {
    return this.factorisedCount + this.rows.length / this.dim;
  }

  private checkEntry(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new BankError(`bank entry ${index} does not exist: the bank has entries 0..${this.size - 1}`);
  }

  /** The raw snippet of entry `index` (reconstructed from the factorisation where compressed). */
  snippet(index: number, mirrored = false): Float32Array {
    this.checkEntry(index);
    const d = this.dim;
    if (mirrored) {
      if (!this.mirroredRows || index >= this.mirroredRows.length / d) throw new BankError(`bank entry ${index} has no mirrored snippet (built without --mirrored, compressed, or added)`);
      return this.mirroredRows.slice(index * d, (index + 1) * d);
    }
    const f = this.factorisedCount;
    if (index >= f) return this.rows.slice((index - f) * d, (index - f + 1) * d);
    const { mean, basis, coefficients } = this.factorised!;
    const out = Float32Array.from(mean);
    for (let r = 0; r < this.rank; r++) {
      const c = coefficients[index * this.rank + r]!;
      for (let j = 0; j < d; j++) out[j]! += c * basis[r * d + j]!;
    }
    return out;
  }

  /** L2-normalised snippets of `indices` as rows [n, dim]: what a model is conditioned on. */
  normalisedRows(indices: readonly number[], mirrored?: readonly boolean[]): Float32Array {
    const out = new Float32Array(indices.length * this.dim);
    indices.forEach((index, i) => out.set(normalise(this.snippet(index, mirrored?.[i] ?? false)), i * this.dim));
    return out;
  }

  /** Throws a BankError unless the bank's snippets are `width` wide (the model's condVectorDim). */
  checkWidth(width: number, what: string): void {
    if (width !== this.dim) throw new BankError(`the bank's snippets are ${this.dim} wide but ${what} takes ${width}: build the bank with the encoder the model was trained with`);
  }

  /** Entries for uniforms u in [0, 1): the inverse CDF over the frequencies. */
  entriesFor(uniforms: ArrayLike<number>): number[] {
    const cdf = new Float64Array(this.size);
    let total = 0;
    for (let i = 0; i < this.size; i++) cdf[i] = total += this.frequencies[i]!;
    return Array.from(uniforms, (u) => {
      const target = u * total;
      let lo = 0;
      let hi = this.size - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid]! > target) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    });
  }

  /** The bank's tensors by their file names: rows, frequencies and, where present, mean/basis/coefficients, mirrored, labels. */
  tensors(): Map<string, HostTensor> {
    const d = this.dim;
    const tensor = (data: Float32Array, shape: number[]): HostTensor => ({ dtype: 'float32', shape, data });
    const out = new Map<string, HostTensor>([
      ['rows', tensor(this.rows, [this.rows.length / d, d])],
      ['frequencies', tensor(this.frequencies, [this.size])],
    ]);
    if (this.factorised) {
      const { mean, basis, coefficients } = this.factorised;
      out.set('mean', tensor(mean, [d]));
      out.set('basis', tensor(basis, [this.rank, d]));
      out.set('coefficients', tensor(coefficients, [this.factorisedCount, this.rank]));
    }
    if (this.mirroredRows) out.set('mirrored', tensor(this.mirroredRows, [this.mirroredRows.length / d, d]));
    if (this.labels) out.set('labels', { dtype: 'int64', shape: [this.size], data: this.labels });
    return out;
  }

  /** A new bank with `snippet` appended as an exact full row. */
  withSnippet(snippet: Float32Array, source: string, label = -1n): MemoryBank {
    this.checkWidth(snippet.length, `the added snippet (${source})`);
    return this.appended(snippet, { kind: 'snippet', source }, label);
  }

  /** A new bank with (1 - t)·a + t·b of the normalised entries a and b appended (normalised at use like any entry). */
  withInterpolation(a: number, b: number, t: number): MemoryBank {
    this.checkEntry(a);
    this.checkEntry(b);
    if (!(t >= 0 && t <= 1)) throw new BankError(`interpolation weight must be in [0, 1], got ${t}`);
    const sa = normalise(this.snippet(a));
    const sb = normalise(this.snippet(b));
    const label = this.labels && this.labels[t < 0.5 ? a : b]!;
    return this.appended(sa.map((v, j) => (1 - t) * v + t * sb[j]!), { kind: 'interpolation', a, b, t }, label ?? -1n);
  }

  private appended(row: Float32Array, addition: BankAddition, label: bigint): MemoryBank {
    const rows = new Float32Array(this.rows.length + this.dim);
    rows.set(this.rows);
    rows.set(row, this.rows.length);
    const frequencies = Float32Array.of(...this.frequencies, 1);
    const labels = this.labels && BigInt64Array.of(...this.labels, label);
    return new MemoryBank({ ...this.metadata, additions: [...this.metadata.additions, addition] }, rows, this.factorised, frequencies, labels, this.mirroredRows);
  }
}

export function normalise(snippet: Float32Array): Float32Array {
  let norm = 0;
  for (const v of snippet) norm += v * v;
  const scale = 1 / Math.sqrt(norm + 1e-12);
  return snippet.map((v) => v * scale);
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 through erf, |error| < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return 0.5 * (1 + (x >= 0 ? erf : -erf));
}

export const SNIPPET_SELECTIONS = ['uniform', 'noise'] as const;
export type SnippetSelection = (typeof SNIPPET_SELECTIONS)[number];

/**
 * The entry each of n samples is conditioned on. 'uniform': a seeded uniform per sample (GMem's
 * current code); 'noise': tied to the sample's initial noise z, u = Φ(mean(z)·√numel(z)), which is
 * uniform because mean(z)·√numel is standard normal (GMem's first release). Both go through the
 * inverse CDF of the frequencies. Sample k (from `first`) depends only on (seed, k) or its own noise.
 */
export function selectEntries(bank: MemoryBank, how: SnippetSelection, n: number, seed: Seed, noise?: Float64Array, first = 0): number[] {
  if (how === 'uniform') return bank.entriesFor(RngStream.fromSeed(seed, 'snippet-select').uniform({ start: first, count: n }, 1, new Float64Array(n)));
  if (!noise || noise.length % n !== 0) throw new BankError('noise-tied snippet selection needs the initial noise of every sample');
  const perSample = noise.length / n;
  const uniforms = Array.from({ length: n }, (_, k) => {
    let sum = 0;
    for (let i = k * perSample; i < (k + 1) * perSample; i++) sum += noise[i]!;
    return Math.min(normalCdf(sum / Math.sqrt(perSample)), 1 - 1e-12);
  });
  return bank.entriesFor(uniforms);
}

// ---------------------------------------------------------------------------------------------
// Building, saving and loading.

export interface BuildBankOptions {
  encoderName: string; // recorded in the metadata
  start?: number; // first stream position (default 0)
  count: number; // images to encode
  seed?: number; // dataset seed (default 0)
  mirrored?: boolean; // also encode each image's mirror image (what training with flips needs)
  batch?: number; // images per encoder call
  onProgress?: (done: number, total: number) => void;
}

/** Snippets of more than this many bytes are refused before any work starts. */
export const MAX_BANK_BYTES = 2 ** 31;

/** Images per encoder call when building a bank. */
export const BANK_BATCH = 500;

/** Encodes `count` images of `dataset` in batches: a bank of one full row per image. */
export async function buildBank(encoder: SnippetEncoder, dataset: Dataset, options: BuildBankOptions): Promise<MemoryBank> {
  const { count, start = 0, seed = 0, mirrored = false, batch = BANK_BATCH } = options;
  if (!Number.isSafeInteger(count) || count < 1) throw new BankError(`a bank needs at least one image, got --n ${count}`);
  if (!sameShape(dataset.shape, encoder.config.imageShape)) {
    throw new BankError(`the encoder reads ${encoder.config.imageShape.join('x')} images, the dataset '${dataset.name}' gives ${dataset.shape.join('x')}: pass --resolution ${encoder.config.imageShape[1]}`);
  }
  const dim = encoder.snippetDim;
  const bytes = count * dim * 4 * (mirrored ? 2 : 1);
  if (bytes > MAX_BANK_BYTES) throw new BankError(`a bank of ${count} snippets of ${dim} floats would take ${(bytes / 2 ** 30).toFixed(1)} GiB; build it in parts or compress a smaller one`);
  const rows = new Float32Array(count * dim);
  const mirrors = mirrored ? new Float32Array(count * dim) : undefined;
  const labels = dataset.numClasses ? new BigInt64Array(count) : undefined;
  const side = dataset.shape[1]!;
  const draw = (done: number): DatasetBatch => dataset.sample({ start: start + done, count: Math.min(batch, count - done) }, seed);
  // The next batch is drawn (on this thread) while ONNX Runtime encodes the current one (on its own).
  let sample = draw(0);
  for (let done = 0; done < count; done += batch) {
    const n = sample.indices.length;
    const encoded = encoder.encode(sample.x);
    const mirroredImages = mirrors && { ...sample.x, data: mirrorImages(Float32Array.from(sample.x.data), side) };
    const next = done + n < count ? draw(done + n) : undefined;
    rows.set((await encoded).snippets, done * dim);
    if (mirrors) mirrors.set((await encoder.encode(mirroredImages!)).snippets, done * dim);
    if (labels) labels.set(sample.labels!.data, done);
    options.onProgress?.(done + n, count);
    if (next) sample = next;
  }
  const metadata: BankMetadata = {
    format: BANK_FORMAT, version: BANK_VERSION, encoder: options.encoderName, data: dataset.name, resolution: side, seed, start, count, dim,
    mirrored, labels: labels !== undefined, compression: null, additions: [],
  };
  return new MemoryBank(metadata, rows, undefined, new Float32Array(count).fill(1), labels, mirrors);
}

const BANK_FILES = { tensors: 'bank.safetensors', json: 'bank.json' };
const files = (dir: string): { tensors: string; json: string } => ({ tensors: join(dir, BANK_FILES.tensors), json: join(dir, BANK_FILES.json) });

/** Names a bank's content: saving the same bank twice writes the same two files, a pair torn between saves of two banks disagrees. */
function contentId(bank: MemoryBank): string {
  const hash = createHash('sha256').update(JSON.stringify(bank.metadata));
  for (const [name, { data }] of bank.tensors()) hash.update(name).update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return hash.digest('hex').slice(0, 32);
}

/** Throws unless `dir` can take a bank, before any work: one already there is replaced only with overwrite. */
export function claimBankFolder(dir: string, { overwrite = false }: { overwrite?: boolean } = {}): void {
  if (!overwrite) prepareRunFolder({ dir, what: 'a memory bank', files: [BANK_FILES.json, BANK_FILES.tensors], resumable: false }, {});
}

/** Writes bank.safetensors and bank.json into `dir` (each atomically; a shared content id detects a torn pair). */
export async function saveBank(dir: string, bank: MemoryBank): Promise<void> {
  await mkdir(dir, { recursive: true });
  const saveId = contentId(bank);
  await saveSafetensors(files(dir).tensors, bank.tensors(), { 'hasten.bank_save_id': saveId });
  await writeFileAtomic(files(dir).json, `${JSON.stringify({ ...bank.metadata, saveId }, null, 2)}\n`);
}

/** Reads a bank directory; anything missing, torn or malformed is a BankError naming the file. */
export async function loadBank(dir: string): Promise<MemoryBank> {
  const { tensors: tensorPath, json } = files(dir);
  if (!existsSync(json) || !existsSync(tensorPath)) throw new BankError(`'${dir}' is not a memory bank: it needs bank.json and bank.safetensors (build one with hasten gmem bank)`);
  let parsed: BankMetadata & { saveId?: string };
  try {
    parsed = JSON.parse(await readFile(json, 'utf8')) as BankMetadata & { saveId?: string };
  } catch (error) {
    throw new BankError(`${json}: not valid JSON (${(error as Error).message})`);
  }
  if (parsed.format !== BANK_FORMAT) throw new BankError(`${json}: not a memory bank (format ${JSON.stringify(parsed.format)})`);
  if (parsed.version !== BANK_VERSION) throw new BankError(`${json}: bank format version ${parsed.version}; this toolkit reads version ${BANK_VERSION}`);
  const contents = await loadSafetensors(tensorPath);
  if (contents.metadata?.['hasten.bank_save_id'] !== parsed.saveId) throw new BankError(`${dir}: bank.json and bank.safetensors come from different saves (a write was interrupted); rebuild the bank`);
  const { saveId: _saveId, ...metadata } = parsed;
  const get = (name: string, dtype = 'float32'): HostTensor['data'] | undefined => {
    const t = contents.tensors.get(name);
    if (t && t.dtype !== dtype) throw new BankError(`${tensorPath}: tensor '${name}' is ${t.dtype}, expected ${dtype}`);
    return t?.data;
  };
  const rows = get('rows') as Float32Array | undefined;
  const frequencies = get('frequencies') as Float32Array | undefined;
  if (!rows || !frequencies) throw new BankError(`${tensorPath}: missing tensor 'rows' or 'frequencies'`);
  const mean = get('mean') as Float32Array | undefined;
  const factorised = mean ? { mean, basis: get('basis') as Float32Array, coefficients: get('coefficients') as Float32Array } : undefined;
  if (factorised && (!factorised.basis || !factorised.coefficients)) throw new BankError(`${tensorPath}: an SVD bank needs 'mean', 'basis' and 'coefficients'`);
  try {
    return new MemoryBank(metadata, rows, factorised, frequencies, get('labels', 'int64') as BigInt64Array | undefined, get('mirrored') as Float32Array | undefined);
  } catch (error) {
    throw new BankError(`${tensorPath}: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Compression.

function allNormalised(bank: MemoryBank): Float32Array {
  return bank.normalisedRows(Array.from({ length: bank.size }, (_, i) => i));
}

/**
 * K-means (spherical: on normalised snippets, centroids renormalised; k-means++ seeding) down to k
 * entries. Frequencies are the cluster sizes (summing the old frequencies), a centroid's label the
 * most frequent label of its members. Mirrored snippets are dropped: a compressed bank is for sampling.
 */
export function compressKMeans(bank: MemoryBank, k: number, { iterations = 20, seed = 0 } = {}): MemoryBank {
  const n = bank.size;
  const d = bank.dim;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new BankError(`k-means needs 1 <= k <= ${n} (the bank's entries), got ${k}`);
  const x = allNormalised(bank);
  const rng = RngStream.fromSeed(seed, 'bank-kmeans');
  const dot = (a: Float32Array, i: number, b: Float32Array, j: number): number => {
    let s = 0;
    for (let t = 0; t < d; t++) s += a[i * d + t]! * b[j * d + t]!;
    return s;
  };
  // k-means++: each next centre drawn with probability proportional to its squared distance (2 − 2 cos) to the nearest centre.
  const centres = new Float32Array(k * d);
  const nearest = new Float64Array(n).fill(Infinity);
  const draws = rng.derive('seeding').uniform({ start: 0, count: k }, 1, new Float64Array(k));
  let chosen = Math.min(Math.floor(draws[0]! * n), n - 1);
  for (let c = 0; c < k; c++) {
    centres.set(x.subarray(chosen * d, (chosen + 1) * d), c * d);
    let total = 0;
    for (let i = 0; i < n; i++) total += nearest[i] = Math.min(nearest[i]!, Math.max(0, 2 - 2 * dot(x, i, centres, c)));
    if (c + 1 === k) break;
    let target = draws[c + 1]! * total;
    chosen = n - 1;
    for (let i = 0; i < n; i++) if ((target -= nearest[i]!) < 0) { chosen = i; break; }
  }
  const assignment = new Int32Array(n);
  for (let iteration = 0; iteration < iterations; iteration++) {
    let moved = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestDot = -Infinity;
      for (let c = 0; c < k; c++) {
        const s = dot(x, i, centres, c);
        if (s > bestDot) { bestDot = s; best = c; }
      }
      if (assignment[i] !== best || iteration === 0) moved++;
      assignment[i] = best;
    }
    const sums = new Float64Array(k * d);
    const weights = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const c = assignment[i]!;
      const w = bank.frequencies[i]!;
      weights[c]! += w;
      for (let t = 0; t < d; t++) sums[c * d + t]! += w * x[i * d + t]!;
    }
    for (let c = 0; c < k; c++) {
      if (weights[c] === 0) continue; // an empty cluster keeps its centre
      let norm = 0;
      for (let t = 0; t < d; t++) norm += sums[c * d + t]! ** 2;
      for (let t = 0; t < d; t++) centres[c * d + t] = sums[c * d + t]! / Math.sqrt(norm + 1e-24);
    }
    if (moved === 0) break;
  }
  const frequencies = new Float32Array(k);
  const votes = bank.labels ? new Map<number, Map<bigint, number>>() : undefined;
  for (let i = 0; i < n; i++) {
    const c = assignment[i]!;
    frequencies[c]! += bank.frequencies[i]!;
    if (votes) {
      const counts = votes.get(c) ?? new Map<bigint, number>();
      counts.set(bank.labels![i]!, (counts.get(bank.labels![i]!) ?? 0) + bank.frequencies[i]!);
      votes.set(c, counts);
    }
  }
  const labels = votes && BigInt64Array.from({ length: k }, (_, c) => [...(votes.get(c) ?? new Map([[-1n, 1]]))].sort((a, b) => b[1] - a[1])[0]![0]);
  const metadata: BankMetadata = { ...bank.metadata, mirrored: false, compression: { kind: 'kmeans', k, iterations, seed } };
  return new MemoryBank(metadata, centres, undefined, frequencies, labels, undefined);
}

/**
 * SVD compression to rank r, as GMem: mean-centred snippets ≈ mean + coefficients · basis with the
 * top-r principal directions as the basis. `energy` records the fraction of the centred variance kept.
 */
export function compressSvd(bank: MemoryBank, rank: number): MemoryBank {
  const n = bank.size;
  const d = bank.dim;
  if (!Number.isInteger(rank) || rank < 1 || rank > d) throw new BankError(`SVD rank must be an integer in 1..${d} (the snippet width), got ${rank}`);
  const x = Float64Array.from({ length: n * d }, () => 0);
  for (let i = 0; i < n; i++) x.set(bank.snippet(i), i * d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j]! -= mean[j]!;
  const gram = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const xa = x[i * d + a]!;
      if (xa === 0) continue;
      for (let b = a; b < d; b++) gram[a * d + b]! += xa * x[i * d + b]!;
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) gram[a * d + b] = gram[b * d + a]!;
  const { values, vectors } = symmetricEigen(gram, d);
  const order = Array.from({ length: d }, (_, i) => i).sort((p, q) => values[q]! - values[p]!);
  const basis = new Float32Array(rank * d);
  order.slice(0, rank).forEach((column, r) => {
    for (let j = 0; j < d; j++) basis[r * d + j] = vectors[j * d + column]!;
  });
  const coefficients = new Float32Array(n * rank);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rank; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j]! * basis[r * d + j]!;
      coefficients[i * rank + r] = s;
    }
  }
  const total = order.reduce((s, i) => s + Math.max(values[i]!, 0), 0);
  const kept = order.slice(0, rank).reduce((s, i) => s + Math.max(values[i]!, 0), 0);
  const metadata: BankMetadata = { ...bank.metadata, mirrored: false, compression: { kind: 'svd', rank, energy: total > 0 ? kept / total : 1 } };
  return new MemoryBank(metadata, new Float32Array(0), { mean: Float32Array.from(mean), basis, coefficients }, Float32Array.from(bank.frequencies), bank.labels, undefined);
}
