// Seeded random numbers that do not depend on batching.
//
// Algorithm. The generator is Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011), a counter-based generator: a keyed bijection of a 128-bit counter, so any draw
// is computed directly from its address instead of by advancing a state. It passes BigCrush, and
// distinct keys give independent streams.
//
// - A stream is a 64-bit Philox key. It comes from a seed and any labels ("noise", step 12, ...)
//   hashed with the SplitMix64 finaliser, so `derive` gives as many independent streams as needed
//   without coordinating sequence positions.
// - A per-sample draw addresses the counter as (block, kind, sample low 32 bits, sample high bits):
//   element e of sample k comes from block floor(e / 4), lane e mod 4. The values for sample k thus
//   depend only on (stream, k, kind, e): not on the batch size nor the sample's position in the batch.
//   The kind word keeps normal, uniform and integer draws of one sample independent.
// - Normals use the Box–Muller transform on pairs of 32-bit uniforms: lanes (0, 1) and (2, 3) of a
//   block give four normals. The radius uses u = (x + 0.5) / 2^32, never 0 or 1, which bounds |z|
//   below 6.8; the true tail beyond that has probability 1e-11.
// - Uniforms in [0, 1) take the top 24 bits of a word, exactly representable in float32 and float64
//   alike, so both output precisions see the same values. Integers in [0, n) scale a 53-bit uniform
//   built from two words: bias at most n / 2^53, far below anything measurable.
// - Permutations are Fisher–Yates shuffles whose step i uses lanes 2(i mod 2) and 2(i mod 2) + 1 of
//   block floor(i / 2), under their own kind word.

export type Seed = number | bigint;
export type Label = string | number | bigint;
/** Which samples to draw for: a contiguous range, or explicit sample indices (e.g. seeds 7, 42, 1000). */
export type SampleSelection = { start: number; count: number } | readonly number[];
/** Values per sample: a count or a shape. */
export type PerSample = number | readonly number[];

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const PHILOX_ROUNDS = 10;

const TWO_POW_32 = 4294967296;
const TWO_PI = 2 * Math.PI;

/** High 32 bits of the 64-bit product of two uint32s, from 16-bit halves (doubles cannot hold 64-bit products exactly). */
function multiplyHigh(a: number, b: number): number {
  const aLow = a & 0xffff;
  const aHigh = a >>> 16;
  const bLow = b & 0xffff;
  const bHigh = b >>> 16;
  const lowLow = aLow * bLow;
  const highLow = aHigh * bLow;
  const lowHigh = aLow * bHigh;
  const carry = ((lowLow >>> 16) + (highLow & 0xffff) + (lowHigh & 0xffff)) >>> 16;
  return (aHigh * bHigh + (highLow >>> 16) + (lowHigh >>> 16) + carry) >>> 0;
}

/** Philox-4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1), written to out[0..3]. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let round = 0; round < PHILOX_ROUNDS; round++) {
    const high0 = multiplyHigh(PHILOX_M0, c0);
    const low0 = Math.imul(PHILOX_M0, c0);
    const high1 = multiplyHigh(PHILOX_M1, c2);
    const low1 = Math.imul(PHILOX_M1, c2);
    c0 = (high1 ^ c1 ^ k0) >>> 0;
    c1 = low1 >>> 0;
    c2 = (high0 ^ c3 ^ k1) >>> 0;
    c3 = low0 >>> 0;
    k0 = (k0 + PHILOX_W0) >>> 0;
    k1 = (k1 + PHILOX_W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

const MASK_64 = (1n << 64n) - 1n;

/** SplitMix64's finaliser: a bijection of 64-bit words that mixes every input bit into every output bit. */
function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK_64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK_64;
  return z ^ (z >> 31n);
}

const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;
const INTEGER_LABEL_TAG = 1n;
const STRING_LABEL_TAG = 2n;

/** Folds one 64-bit word into a hash state. */
function absorb(state: bigint, word: bigint): bigint {
  return mix64(((state + GOLDEN_GAMMA) & MASK_64) ^ word);
}

/** Folds a label in, tagged by kind and length so that ('ab') and ('a', 'b') or 1 and '1' differ. */
function absorbLabel(state: bigint, label: Label): bigint {
  if (typeof label === 'string') {
    const bytes = new TextEncoder().encode(label);
    state = absorb(absorb(state, STRING_LABEL_TAG), BigInt(bytes.length));
    for (let i = 0; i < bytes.length; i += 8) {
      let word = 0n;
      for (let j = Math.min(i + 8, bytes.length) - 1; j >= i; j--) word = (word << 8n) | BigInt(bytes[j]);
      state = absorb(state, word);
    }
    return state;
  }
  if (typeof label === 'number' && !Number.isSafeInteger(label)) throw new RangeError(`rng: numeric label ${label} is not a safe integer`);
  return absorb(absorb(state, INTEGER_LABEL_TAG), BigInt.asUintN(64, BigInt(label)));
}

const DRAW_NORMAL = 1;
const DRAW_UNIFORM = 2;
const DRAW_INTEGER = 3;
const DRAW_PERMUTATION = 4;

function valuesPerSample(perSample: PerSample): number {
  if (typeof perSample === 'number') return perSample;
  let count = 1;
  for (const size of perSample) count *= size;
  return count;
}

function selectionLength(samples: SampleSelection): number {
  return 'start' in samples ? samples.count : samples.length;
}

function selectedSample(samples: SampleSelection, position: number): number {
  const sample = 'start' in samples ? samples.start + position : samples[position];
  if (!Number.isSafeInteger(sample) || sample < 0) throw new RangeError(`rng: sample index ${sample} is not a non-negative safe integer`);
  return sample;
}

/** Turns one Philox block (4 words) into `lanes` values written from out[at]. */
type BlockFiller<T> = (words: Uint32Array, out: T, at: number, lanes: number) => void;

/**
 * An independent stream of random numbers: an immutable 64-bit Philox key. Draws are pure functions of
 * (stream, what is asked), so a stream can be shared freely and reused across calls.
 */
export class RngStream {
  /** The Philox key words. */
  readonly key0: number;
  readonly key1: number;
  private readonly hashState: bigint;
  /** Per-instance scratch for one Philox block, so draws allocate nothing beyond their output. */
  private readonly block = new Uint32Array(4);

  private constructor(hashState: bigint) {
    this.hashState = hashState;
    const key = mix64(hashState);
    this.key0 = Number(key & 0xffffffffn);
    this.key1 = Number(key >> 32n);
  }

  /** The stream of `seed`, then derived by each label in turn: fromSeed(s, 'a', 'b') equals fromSeed(s).derive('a', 'b'). */
  static fromSeed(seed: Seed, ...labels: Label[]): RngStream {
    if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw new RangeError(`rng: seed ${seed} is not a safe integer`);
    return new RngStream(mix64(BigInt.asUintN(64, BigInt(seed)) ^ GOLDEN_GAMMA)).derive(...labels);
  }

  /** An independent child stream named by labels, e.g. stream.derive('noise', step). */
  derive(...labels: Label[]): RngStream {
    if (labels.length === 0) return this;
    return new RngStream(labels.reduce<bigint>(absorbLabel, this.hashState));
  }

  private fillPerSample<T extends { length: number }>(
    kind: number,
    samples: SampleSelection,
    count: number,
    valuesPerBlock: number,
    out: T,
    fill: BlockFiller<T>,
  ): T {
    const expected = selectionLength(samples) * count;
    if (out.length !== expected) throw new RangeError(`rng: output holds ${out.length} values, expected ${expected}`);
    const block = this.block;
    for (let position = 0; position < selectionLength(samples); position++) {
      const sample = selectedSample(samples, position);
      const sampleLow = sample >>> 0;
      const sampleHigh = Math.floor(sample / TWO_POW_32);
      const base = position * count;
      for (let first = 0, index = 0; first < count; first += valuesPerBlock, index++) {
        philox4x32(index, kind, sampleLow, sampleHigh, this.key0, this.key1, block);
        fill(block, out, base + first, Math.min(valuesPerBlock, count - first));
      }
    }
    return out;
  }

  /**
   * Standard normal draws, `perSample` values for each selected sample, sample-major. Sample k's values
   * are the same whatever the batch it is drawn in. Pass `out` to choose float64 or reuse a buffer.
   */
  normal<T extends Float32Array | Float64Array = Float32Array>(samples: SampleSelection, perSample: PerSample, out?: T): T {
    const count = valuesPerSample(perSample);
    return this.fillPerSample(DRAW_NORMAL, samples, count, 4, out ?? (new Float32Array(selectionLength(samples) * count) as T), fillNormals);
  }

  /** Uniform draws in [0, 1) with 24-bit resolution, per sample like `normal`. */
  uniform<T extends Float32Array | Float64Array = Float32Array>(samples: SampleSelection, perSample: PerSample, out?: T): T {
    const count = valuesPerSample(perSample);
    return this.fillPerSample(DRAW_UNIFORM, samples, count, 4, out ?? (new Float32Array(selectionLength(samples) * count) as T), fillUniforms);
  }

  /** Uniform integers in [0, n), n at most 2^31, per sample like `normal`. */
  integers(samples: SampleSelection, perSample: PerSample, n: number, out?: Int32Array): Int32Array {
    if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 31) throw new RangeError(`rng: integer range ${n} must be an integer in [1, 2^31]`);
    const count = valuesPerSample(perSample);
    const fill: BlockFiller<Int32Array> = (words, target, at, lanes) => {
      for (let lane = 0; lane < lanes; lane++) target[at + lane] = Math.floor(uniform53(words[2 * lane], words[2 * lane + 1]) * n);
    };
    return this.fillPerSample(DRAW_INTEGER, samples, count, 2, out ?? new Int32Array(selectionLength(samples) * count), fill);
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    this.shuffle(order);
    return order;
  }

  /** Shuffles `items` in place, uniformly (Fisher–Yates); the result depends only on the stream and the length. */
  shuffle<T extends { length: number; [index: number]: unknown }>(items: T): T {
    if (items.length > 2 ** 32) throw new RangeError('rng: cannot shuffle more than 2^32 items');
    const block = this.block;
    for (let i = items.length - 1; i > 0; i--) {
      const lane = 2 * (i & 1);
      philox4x32(Math.floor(i / 2), DRAW_PERMUTATION, 0, 0, this.key0, this.key1, block);
      const j = Math.floor(uniform53(block[lane], block[lane + 1]) * (i + 1));
      const swapped = items[i];
      items[i] = items[j];
      items[j] = swapped;
    }
    return items;
  }
}

/** A uniform in [0, 1) with 53 random bits from two words. */
function uniform53(high: number, low: number): number {
  return ((high >>> 5) * 67108864 + (low >>> 6)) / 9007199254740992;
}

const fillUniforms: BlockFiller<Float32Array | Float64Array> = (words, out, at, lanes) => {
  for (let lane = 0; lane < lanes; lane++) out[at + lane] = (words[lane] >>> 8) / 16777216;
};

const fillNormals: BlockFiller<Float32Array | Float64Array> = (words, out, at, lanes) => {
  for (let pair = 0; pair < lanes; pair += 2) {
    const radius = Math.sqrt(-2 * Math.log((words[pair] + 0.5) / TWO_POW_32));
    const angle = (TWO_PI * words[pair + 1]) / TWO_POW_32;
    out[at + pair] = radius * Math.cos(angle);
    if (pair + 1 < lanes) out[at + pair + 1] = radius * Math.sin(angle);
  }
};
