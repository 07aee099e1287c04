// Gradient checks of the element-wise ops, with broadcasting between different ranks and size-1
// axes on both sides, and forward checks of a few of them against plain JavaScript.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { gradCheck, randomTensor } from './gradcheck.js';
import { assertClose, awayFrom, forward, mapTensor } from './reference.js';

const positive = (shape: number[], seed: number): HostTensor => mapTensor(randomTensor(shape, seed), (v) => 0.5 + Math.abs(v));

// [a shape, b shape]: same shape, rank difference, size-1 axes on both sides, scalar-shaped operand.
const BROADCAST_CASES: [number[], number[]][] = [
  [[3, 4], [3, 4]],
  [[2, 3, 4], [4]],
  [[2, 1, 4], [3, 1]],
  [[1, 3, 1], [2, 1, 5]],
  [[3], [2, 1, 3]],
  [[], [2, 3]],
];

describe('binary ops with broadcasting', () => {
  for (const [sa, sb] of BROADCAST_CASES) {
    const label = `[${sa}] with [${sb}]`;
    test(`add ${label}`, () => gradCheck('add', (g, { a, b }) => F.add(a!, b!), { a: randomTensor(sa, 1), b: randomTensor(sb, 2) }));
    test(`sub ${label}`, () => gradCheck('sub', (g, { a, b }) => F.sub(a!, b!), { a: randomTensor(sa, 3), b: randomTensor(sb, 4) }));
    test(`mul ${label}`, () => gradCheck('mul', (g, { a, b }) => F.mul(a!, b!), { a: randomTensor(sa, 5), b: randomTensor(sb, 6) }));
    test(`div ${label}`, () => gradCheck('div', (g, { a, b }) => F.div(a!, b!), { a: randomTensor(sa, 7), b: positive(sb, 8) }));
    test(`pow (tensor exponent) ${label}`, () => gradCheck('pow', (g, { a, b }) => F.pow(a!, b!), { a: positive(sa, 9), b: randomTensor(sb, 10) }));
    // a on the lattice k/2 (jittered by at most 0.1), b on k/2 + 1/4: |a - b| >= 0.15 stays well above
    // the finite-difference step, so no pair crosses over.
    const lattice = (t: HostTensor, offset: number): HostTensor => mapTensor(t, (v) => Math.round(v * 2) / 2 + offset);
    const jittered = (t: HostTensor): HostTensor => mapTensor(t, (v) => Math.round(v * 2) / 2 + 0.1 * Math.tanh(v * 37));
    test(`maximum ${label}`, () => gradCheck('maximum', (g, { a, b }) => F.maximum(a!, b!), { a: jittered(randomTensor(sa, 11)), b: lattice(randomTensor(sb, 12), 0.25) }));
    test(`minimum ${label}`, () => gradCheck('minimum', (g, { a, b }) => F.minimum(a!, b!), { a: jittered(randomTensor(sa, 13)), b: lattice(randomTensor(sb, 14), 0.25) }));
  }

  test('scalar operands on either side', () =>
    gradCheck('scalars', (g, { x }) => F.add(F.mul(F.sub(3, x!), F.div(2, F.add(F.mul(x!, x!), 1))), F.div(F.sub(x!, 0.5), 4)), { x: randomTensor([3, 4], 15) }));

  test('pow with a scalar exponent', () =>
    gradCheck('pow', (g, { x }) => F.add(F.pow(x!, 2.5), F.pow(x!, -1)), { x: positive([3, 5], 16) }));

  test('pow with an integer scalar exponent of negative inputs', () => gradCheck('pow', (g, { x }) => F.pow(x!, 3), { x: randomTensor([4, 3], 17) }));

  test('pow with a scalar base', () => gradCheck('pow', (g, { x }) => F.pow(2, x!), { x: randomTensor([4, 3], 18) }));

  test('one tensor used as both operands', () => gradCheck('mul', (g, { x }) => F.div(F.mul(x!, x!), F.add(F.abs(x!), 1)), { x: awayFrom(randomTensor([5], 19), [0], 0.1) }));
});

describe('unary ops', () => {
  const shape = [3, 4];
  const cases: [string, (x: ReturnType<typeof F.exp>) => ReturnType<typeof F.exp>, HostTensor][] = [
    ['neg', F.neg, randomTensor(shape, 20)],
    ['exp', F.exp, randomTensor(shape, 21)],
    ['log', F.log, positive(shape, 22)],
    ['sqrt', F.sqrt, positive(shape, 23)],
    ['rsqrt', F.rsqrt, positive(shape, 24)],
    ['abs', F.abs, awayFrom(randomTensor(shape, 25), [0], 0.1)],
    ['sin', F.sin, randomTensor(shape, 26)],
    ['cos', F.cos, randomTensor(shape, 27)],
    ['tanh', F.tanh, randomTensor(shape, 28)],
    ['sigmoid', F.sigmoid, randomTensor(shape, 29)],
    ['silu', F.silu, randomTensor(shape, 30)],
    ['erf', F.erf, randomTensor(shape, 31)],
    ['gelu', F.gelu, randomTensor(shape, 32)],
    ['square', F.square, randomTensor(shape, 33)],
  ];
  for (const [name, op, x] of cases) test(name, () => gradCheck(name, (g, t) => op(t.x!), { x }));

  test('forward values', async () => {
    const x = randomTensor([2, 5], 34);
    const X = x.data as Float32Array;
    const erf = (v: number): number => {
      // Abramowitz-Stegun 7.1.26 is only 1e-7 accurate; a series is exact enough for |v| < 4.
      let term = v;
      let total = v;
      for (let n = 1; n < 60; n++) {
        term *= (-v * v) / n;
        total += term / (2 * n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * total;
    };
    const checks: [string, (t: ReturnType<typeof F.exp>) => ReturnType<typeof F.exp>, (v: number) => number][] = [
      ['sigmoid', F.sigmoid, (v) => 1 / (1 + Math.exp(-v))],
      ['silu', F.silu, (v) => v / (1 + Math.exp(-v))],
      ['gelu', F.gelu, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))],
      ['erf', F.erf, erf],
      ['rsqrt', (t) => F.rsqrt(F.abs(t)), (v) => 1 / Math.sqrt(Math.abs(v))],
      ['tanh', F.tanh, Math.tanh],
    ];
    for (const [name, op, ref] of checks) {
      const y = await forward((g, t) => op(t.x!), { x });
      assertClose(y, x.shape, Array.from(X, ref), 1e-5, name);
    }
  });
});

describe('clamp, where, cast', () => {
  test('clamp', () =>
    gradCheck('clamp', (g, { x }) => F.clamp(x!, -0.5, 0.7), { x: awayFrom(mapTensor(randomTensor([4, 5], 40), (v) => v * 1.5), [-0.5, 0.7], 0.1) }));

  test('clamp with one bound', () =>
    gradCheck('clamp', (g, { x }) => F.mul(F.clamp(x!, 0), F.clamp(x!, undefined, 0.3)), { x: awayFrom(randomTensor([4, 5], 41), [0, 0.3], 0.1) }));

  test('clamp forward', async () => {
    const x = randomTensor([10], 42);
    assertClose(await forward((g, t) => F.clamp(t.x!, -0.5, 0.7), { x }), [10], Array.from(x.data as Float32Array, (v) => Math.min(Math.fround(0.7), Math.max(-0.5, v))), 0);
  });

  test('where with broadcasting condition and branches', () => {
    const condition: HostTensor = { dtype: 'bool', shape: [3, 1], data: Uint8Array.of(1, 0, 1) };
    return gradCheck('where', (g, { c, a, b }) => F.where(c!, a!, b!), { a: randomTensor([3, 4], 43), b: randomTensor([4], 44) }, { fixed: { c: condition } });
  });

  test('where with a condition computed in the graph', () =>
    // a near k/2 and b on k/2 + 1/4, so the condition does not flip under the finite-difference step.
    gradCheck('where', (g, { a, b }) => F.where(F.greater(a!, b!), F.mul(a!, 2), F.exp(b!)), {
      a: mapTensor(randomTensor([2, 3, 4], 45), (v) => Math.round(v * 2) / 2 + 0.1 * Math.tanh(v * 37)),
      b: mapTensor(randomTensor([2, 3, 4], 46), (v) => Math.round(v * 2) / 2 + 0.25),
    }));

  test('where forward', async () => {
    const a = randomTensor([2, 3], 47);
    const condition: HostTensor = { dtype: 'bool', shape: [2, 3], data: Uint8Array.of(1, 0, 0, 1, 1, 0) };
    const y = await forward((g, t) => F.where(t.c!, t.a!, -1), { a, c: condition });
    assertClose(y, [2, 3], Array.from(a.data as Float32Array, (v, i) => (condition.data[i] ? v : -1)), 0);
  });

  test('cast float32 -> float64 -> float32', () =>
    gradCheck('cast', (g, { x }) => F.cast(F.mul(F.exp(F.cast(x!, 'float64')), F.cast(x!, 'float64')), 'float32'), { x: randomTensor([3, 4], 48) }));

  test('cast float64 -> float32 -> float64', () =>
    gradCheck('cast', (g, { x }) => F.cast(F.sin(F.cast(x!, 'float32')), 'float64'), { x: randomTensor([3, 4], 49, 'float64') }));

  test('cast to int64 has no gradient but the float path does', () =>
    gradCheck('cast', (g, { x }) => F.mul(x!, F.cast(F.cast(F.greater(x!, 0), 'int64'), 'float32')), { x: awayFrom(randomTensor([6], 50), [0], 0.1) }));

  test('float64 arithmetic is exact enough for a tight check', () =>
    gradCheck('float64', (g, { x, y }) => F.div(F.mul(F.tanh(x!), F.exp(y!)), F.add(F.mul(y!, y!), 1)), { x: randomTensor([3, 4], 51, 'float64'), y: randomTensor([4], 52, 'float64') }, { eps: 1e-5, tolerance: 1e-6 }));
});

describe('comparisons', () => {
  test('forward', async () => {
    const a = randomTensor([6], 60);
    const b = randomTensor([6], 61);
    const A = a.data as Float32Array;
    const B = b.data as Float32Array;
    const checks: [string, typeof F.greater, (x: number, y: number) => boolean][] = [
      ['greater', F.greater, (x, y) => x > y],
      ['less', F.less, (x, y) => x < y],
      ['greaterOrEqual', F.greaterOrEqual, (x, y) => x >= y],
      ['lessOrEqual', F.lessOrEqual, (x, y) => x <= y],
      ['equal', F.equal, (x, y) => x === y],
    ];
    for (const [name, op, ref] of checks) {
      const y = await forward((g, t) => op(t.a!, t.b!), { a, b: { ...b, data: B.map((v, i) => (i === 2 ? A[2]! : v)) } });
      assert.equal(y.dtype, 'bool', name);
      assert.deepEqual(Array.from(y.data as Uint8Array, Boolean), Array.from(A, (v, i) => ref(v, i === 2 ? A[2]! : B[i]!)), name);
    }
  });
});
