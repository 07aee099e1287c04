import assert from 'node:assert/strict';
import { test } from 'node:test';
import { philox4x32, RngStream } from '../../src/engine/rng.js';

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** E[(x - mean)^k] for k = 2, 3, 4. */
function centralMoments(values: ArrayLike<number>): { variance: number; skewness: number; kurtosis: number } {
  const m = mean(values);
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - m;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  const n = values.length;
  return { variance: m2 / n, skewness: m3 / n / (m2 / n) ** 1.5, kurtosis: m4 / n / (m2 / n) ** 2 };
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ma = mean(a);
  const mb = mean(b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

test('Philox-4x32-10 matches the Random123 known-answer vectors', () => {
  const out = new Uint32Array(4);
  philox4x32(0, 0, 0, 0, 0, 0, out);
  assert.deepEqual([...out], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  const ones = 0xffffffff;
  philox4x32(ones, ones, ones, ones, ones, ones, out);
  assert.deepEqual([...out], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
  philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
  assert.deepEqual([...out], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
});

test('the same seed and labels give the same draws; others differ', () => {
  const draw = (stream: RngStream) => stream.normal({ start: 0, count: 2 }, [3, 5]);
  assert.deepEqual(draw(RngStream.fromSeed(7)), draw(RngStream.fromSeed(7)));
  assert.deepEqual(draw(RngStream.fromSeed(7, 'noise', 3)), draw(RngStream.fromSeed(7).derive('noise').derive(3)));
  assert.deepEqual(draw(RngStream.fromSeed(7)), draw(RngStream.fromSeed(7n)));
  const variants = [RngStream.fromSeed(7), RngStream.fromSeed(8), RngStream.fromSeed(7, 'noise'), RngStream.fromSeed(7, 'a', 'b'), RngStream.fromSeed(7, 'ab'), RngStream.fromSeed(7, 1), RngStream.fromSeed(7, '1'), RngStream.fromSeed(-1)];
  const fingerprints = new Set(variants.map((stream) => draw(stream).join(',')));
  assert.equal(fingerprints.size, variants.length);
});

test("sample k's normals do not depend on the batch it is drawn in", () => {
  const stream = RngStream.fromSeed(2024, 'latents');
  const perSample = [3, 7, 5]; // 105 values: not a multiple of the 4 values of a Philox block
  const size = 105;
  const batchOfEight = stream.normal({ start: 0, count: 8 }, perSample);
  const alone = stream.normal({ start: 5, count: 1 }, perSample);
  assert.deepEqual(alone, batchOfEight.subarray(5 * size, 6 * size));
  const picked = stream.normal([6, 1, 6], perSample);
  assert.deepEqual(picked.subarray(0, size), batchOfEight.subarray(6 * size, 7 * size));
  assert.deepEqual(picked.subarray(size, 2 * size), batchOfEight.subarray(size, 2 * size));
  assert.deepEqual(picked.subarray(2 * size), picked.subarray(0, size));
  const shiftedBatch = stream.normal({ start: 4, count: 3 }, size);
  assert.deepEqual(shiftedBatch, batchOfEight.subarray(4 * size, 7 * size));
  // Large sample indices (seeds above 2^32) use the high counter word.
  const far = 2 ** 40 + 3;
  assert.deepEqual(stream.normal([far], size), stream.normal({ start: far - 1, count: 2 }, size).subarray(size));
  assert.notDeepEqual(stream.normal([far], size), stream.normal([3], size));
});

test('float64 output holds the same draws as float32 output, before rounding', () => {
  const stream = RngStream.fromSeed(1);
  const single = stream.normal({ start: 0, count: 4 }, 33);
  const double = stream.normal({ start: 0, count: 4 }, 33, new Float64Array(132));
  assert.deepEqual(Float32Array.from(double), single);
  assert.ok(double.some((value, i) => value !== single[i]), 'float64 keeps more precision');
  const uniform32 = stream.uniform({ start: 0, count: 4 }, 33);
  const uniform64 = stream.uniform({ start: 0, count: 4 }, 33, new Float64Array(132));
  assert.deepEqual([...uniform64], [...uniform32], 'uniforms are exactly representable in float32');
});

test('normal draws have the moments of a standard normal', () => {
  const values = RngStream.fromSeed(3).normal({ start: 0, count: 100 }, 4000);
  const n = values.length;
  const { variance, skewness, kurtosis } = centralMoments(values);
  // Tolerances are about 5 standard errors at n = 400 000.
  assert.ok(Math.abs(mean(values)) < 5 * Math.sqrt(1 / n), `mean ${mean(values)}`);
  assert.ok(Math.abs(variance - 1) < 5 * Math.sqrt(2 / n), `variance ${variance}`);
  assert.ok(Math.abs(skewness) < 5 * Math.sqrt(6 / n), `skewness ${skewness}`);
  assert.ok(Math.abs(kurtosis - 3) < 5 * Math.sqrt(24 / n), `kurtosis ${kurtosis}`);
  let beyondTwo = 0;
  for (const value of values) if (Math.abs(value) > 2) beyondTwo++;
  const tail = 0.0455; // P(|z| > 2)
  assert.ok(Math.abs(beyondTwo / n - tail) < 5 * Math.sqrt((tail * (1 - tail)) / n), `tail ${beyondTwo / n}`);
});

test('uniform draws lie in [0, 1) with mean 1/2 and variance 1/12', () => {
  const values = RngStream.fromSeed(4).uniform({ start: 0, count: 50 }, 4000);
  const n = values.length;
  assert.ok(values.every((value) => value >= 0 && value < 1));
  assert.ok(Math.abs(mean(values) - 0.5) < 5 * Math.sqrt(1 / 12 / n));
  assert.ok(Math.abs(centralMoments(values).variance - 1 / 12) < 5 * Math.sqrt(1 / 180 / n));
});

test('integer draws cover [0, n) evenly and are per sample', () => {
  const stream = RngStream.fromSeed(5);
  const n = 10;
  const values = stream.integers({ start: 0, count: 100 }, 1000, n);
  const counts = new Array<number>(n).fill(0);
  for (const value of values) counts[value]++;
  const expected = values.length / n;
  const chiSquare = counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  assert.ok(chiSquare < 27.9, `chi-square ${chiSquare} with 9 degrees of freedom (p = 0.001)`);
  assert.deepEqual(stream.integers([42], 1000, n), values.subarray(42000, 43000));
  assert.throws(() => stream.integers([0], 1, 0), RangeError);
});

test('streams, samples, lanes and draw kinds are uncorrelated', () => {
  const count = 200_000;
  const bound = 5 / Math.sqrt(count);
  const base = RngStream.fromSeed(6);
  const pairs: [string, ArrayLike<number>, ArrayLike<number>][] = [
    ['derived streams', base.derive('a').normal([0], count), base.derive('b').normal([0], count)],
    ['neighbouring seeds', RngStream.fromSeed(0).normal([0], count), RngStream.fromSeed(1).normal([0], count)],
    ['neighbouring samples', base.normal([0], count), base.normal([1], count)],
    ['normal and uniform of one sample', base.normal([0], count), base.uniform([0], count)],
  ];
  const values = base.normal([0], count);
  pairs.push(['successive values', values.subarray(0, count - 1), values.subarray(1)]);
  for (const [what, a, b] of pairs) {
    const r = correlation(a, b);
    assert.ok(Math.abs(r) < bound, `${what}: correlation ${r}`);
  }
});

test('permutations are valid, deterministic and uniform', () => {
  const permutation = RngStream.fromSeed(8, 'epoch', 0).permutation(1000);
  assert.deepEqual([...permutation].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(RngStream.fromSeed(8, 'epoch', 0).permutation(1000), permutation);
  assert.notDeepEqual(RngStream.fromSeed(8, 'epoch', 1).permutation(1000), permutation);

  const counts = new Map<string, number>();
  const trials = 6000;
  for (let epoch = 0; epoch < trials; epoch++) {
    const key = RngStream.fromSeed(9, epoch).permutation(3).join('');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
  const expected = trials / 6;
  const chiSquare = [...counts.values()].reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  assert.ok(chiSquare < 20.5, `chi-square ${chiSquare} with 5 degrees of freedom (p = 0.001)`);

  const words = ['a', 'b', 'c', 'd', 'e'];
  const shuffled = RngStream.fromSeed(10).shuffle([...words]);
  assert.deepEqual([...shuffled].sort(), words);
  assert.deepEqual(RngStream.fromSeed(10).shuffle([...words]), shuffled);
});

test('rejects bad seeds, sample indices and output buffers', () => {
  assert.throws(() => RngStream.fromSeed(0.5), RangeError);
  assert.throws(() => RngStream.fromSeed(1, 2.5), RangeError);
  assert.throws(() => RngStream.fromSeed(1).normal([-1], 4), /sample index -1/);
  assert.throws(() => RngStream.fromSeed(1).normal({ start: 0, count: 2 }, 4, new Float32Array(7)), /output holds 7 values, expected 8/);
});
