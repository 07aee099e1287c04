// Gradient checks of the data-movement ops (reshape, transpose, concat, split, chunk, slice, pad,
// broadcastTo), the reductions and the matrix products, plus forward checks of strided slicing.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grad } from '../../src/engine/autodiff.js';
import * as F from '../../src/engine/ops/index.js';
import { compile } from '../../src/engine/runtime.js';
import { gradCheck, randomTensor } from './gradcheck.js';
import { assertClose, forward, mapTensor, sliceRef, strides } from './reference.js';

describe('data movement', () => {
  test('reshape (with an inferred axis)', () => gradCheck('reshape', (g, { x }) => F.mul(F.reshape(x!, [4, -1]), F.reshape(x!, [-1, 6])), { x: randomTensor([2, 3, 4], 1) }));

  test('flatten, unsqueeze, squeeze', () =>
    gradCheck('reshape', (g, { x }) => F.squeeze(F.unsqueeze(F.flatten(F.exp(x!)), 0), 0), { x: randomTensor([2, 3, 2], 2) }));

  test('transpose (permutation and default reversal)', () =>
    gradCheck('transpose', (g, { x }) => F.add(F.transpose(x!, [2, 0, 1]), F.transpose(F.transpose(F.mul(x!, x!)), [0, 2, 1])), { x: randomTensor([3, 4, 3], 3) }));

  test('transposeLast2', () => gradCheck('transpose', (g, { x }) => F.transposeLast2(x!), { x: randomTensor([2, 3, 5], 4) }));

  test('transpose forward', async () => {
    const x = randomTensor([2, 3, 4], 5);
    const y = await forward((g, t) => F.transpose(t.x!, [2, 0, 1]), { x });
    const expected: number[] = [];
    for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expected.push((x.data as Float32Array)[(i * 3 + j) * 4 + k]!);
    assertClose(y, [4, 2, 3], expected, 0);
  });

  for (const axis of [0, 1, -1]) {
    test(`concat along axis ${axis}`, () => {
      const shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]].map((s, i) => s.map((d, j) => (j === (axis + 3) % 3 ? d + i : d)));
      return gradCheck('concat', (g, { a, b, c }) => F.concat([a!, F.mul(b!, b!), F.exp(c!)], axis), {
        a: randomTensor(shapes[0]!, 6), b: randomTensor(shapes[1]!, 7), c: randomTensor(shapes[2]!, 8),
      });
    });
  }

  test('concat of one tensor with itself', () => gradCheck('concat', (g, { x }) => F.concat([x!, F.neg(x!), x!], 1), { x: randomTensor([2, 3], 9) }));

  test('split with unequal sizes, parts reordered and transformed', () =>
    gradCheck('split', (g, { x }) => {
      const [a, b, c] = F.split(x!, [1, 3, 2], 1);
      return F.concat([F.mul(c!, 3), a!, F.exp(b!)], 1);
    }, { x: randomTensor([2, 6, 3], 10) }));

  test('split with an unused part', () =>
    gradCheck('split', (g, { x }) => {
      const [, b] = F.split(x!, [2, 2], -1);
      return F.sin(b!);
    }, { x: randomTensor([3, 4], 11) }));

  test('chunk', () =>
    gradCheck('chunk', (g, { x }) => {
      const [a, b, c] = F.chunk(x!, 3, 0);
      return F.add(F.mul(a!, b!), F.tanh(c!));
    }, { x: randomTensor([6, 2, 2], 12) }));

  test('split forward', async () => {
    const x = randomTensor([2, 5], 13);
    const X = x.data as Float32Array;
    const y = await forward((g, t) => F.split(t.x!, [2, 3], 1)[1]!, { x });
    assertClose(y, [2, 3], [X[2]!, X[3]!, X[4]!, X[7]!, X[8]!, X[9]!], 0);
  });

  // [input shape, slice ranges, the same ranges normalised for the reference]
  const SLICES: [number[], Record<number, [number, number?, number?]>, [number, number, number][]][] = [
    [[7, 5], { 0: [1, 6] }, [[1, 6, 1], [0, 5, 1]]],
    [[7, 5], { 0: [0, 7, 3] }, [[0, 7, 3], [0, 5, 1]]], // 3 elements; the adjoint's zero padding overshoots the axis
    [[7, 5], { 0: [-5, -1, 2], 1: [1, undefined, 3] }, [[2, 6, 2], [1, 5, 3]]],
    [[2, 9, 4], { 1: [-8, undefined, 4], 2: [-3] }, [[0, 2, 1], [1, 9, 4], [1, 4, 1]]],
    [[6, 6], { [-1]: [5, 100, 2], [-2]: [-100, 4, 2] }, [[0, 4, 2], [5, 6, 2]]], // out-of-range ends clamp, negative axes
  ];
  for (const [shape, ranges, normalised] of SLICES) {
    test(`slice ${JSON.stringify(ranges)} of [${shape}]`, async () => {
      const x = randomTensor(shape, 14);
      await gradCheck('slice', (g, t) => F.slice(t.x!, ranges), { x });
      const expected = sliceRef(x, normalised);
      assertClose(await forward((g, t) => F.slice(t.x!, ranges), { x }), expected.shape, expected.data, 0, 'slice forward');
    });
  }

  test('pad with zeros and with a value', async () => {
    await gradCheck('pad', (g, { x }) => F.mul(F.pad(x!, [[1, 2], [0, 3]]), F.pad(x!, [[2, 1], [3, 0]], 0.5)), { x: randomTensor([3, 4], 15) });
    const x = randomTensor([2, 2], 16);
    const X = x.data as Float32Array;
    const y = await forward((g, t) => F.pad(t.x!, [[1, 0], [0, 1]], 9), { x });
    assertClose(y, [3, 3], [9, 9, 9, X[0]!, X[1]!, 9, X[2]!, X[3]!, 9], 0);
  });

  test('broadcastTo', () =>
    gradCheck('broadcastTo', (g, { x, y }) => F.add(F.broadcastTo(x!, [2, 3, 4]), F.mul(F.broadcastTo(y!, [2, 3, 4]), 2)), { x: randomTensor([3, 1], 17), y: randomTensor([2, 1, 4], 18) }));
});

describe('reductions', () => {
  const shape = [2, 3, 4];
  const AXES: (number | number[] | undefined)[] = [undefined, 0, 1, -1, [0, 2], [1, 2], [0, 1, 2]];
  for (const axes of AXES) {
    for (const keepdims of [false, true]) {
      const label = `axes ${JSON.stringify(axes) ?? 'all'}, keepdims ${keepdims}`;
      test(`sum ${label}`, () => gradCheck('sum', (g, { x }) => F.sum(F.mul(x!, x!), axes, keepdims), { x: randomTensor(shape, 20) }));
      test(`mean ${label}`, () => gradCheck('mean', (g, { x }) => F.mean(F.exp(x!), axes, keepdims), { x: randomTensor(shape, 21) }));
      // Distinct values (a permutation of a spread-out grid) so the maximum never ties or swaps.
      test(`max ${label}`, () => {
        const x = mapTensor(randomTensor(shape, 22), (_, i) => (((i * 7) % 24) - 12) * 0.25);
        return gradCheck('max', (g, t) => F.max(t.x!, axes, keepdims), { x });
      });
    }
  }

  test('max splits the gradient between tied maxima', async () => {
    const x = { dtype: 'float32' as const, shape: [2, 3], data: Float32Array.of(1, 3, 3, -1, -2, 5) };
    const compiled = compile((g, t) => ({ dx: grad(F.sum(F.max(t.x!, 1)), [t.x!])[0]! }), { params: 'inputs' });
    const { dx } = await compiled.run({ x });
    assert.deepEqual(Array.from(dx!.data as Float32Array), [0, 0.5, 0.5, 0, 0, 1]);
    await compiled.dispose();
  });

  test('forward values', async () => {
    const x = randomTensor(shape, 23);
    const X = x.data as Float32Array;
    const st = strides(shape);
    const along1 = (f: (values: number[]) => number): number[] => {
      const out: number[] = [];
      for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) out.push(f([0, 1, 2].map((j) => X[i * st[0]! + j * st[1]! + k]!)));
      return out;
    };
    assertClose(await forward((g, t) => F.sum(t.x!, 1), { x }), [2, 4], along1((v) => v.reduce((a, b) => a + b)), 1e-6, 'sum');
    assertClose(await forward((g, t) => F.mean(t.x!, 1, true), { x }), [2, 1, 4], along1((v) => v.reduce((a, b) => a + b) / 3), 1e-6, 'mean');
    assertClose(await forward((g, t) => F.max(t.x!, -2), { x }), [2, 4], along1((v) => Math.max(...v)), 0, 'max');
    assertClose(await forward((g, t) => F.sum(t.x!), { x }), [], [X.reduce((a, b) => a + b)], 1e-5, 'sum of all');
  });
});

describe('matrix products', () => {
  const MATMUL: [number[], number[]][] = [
    [[3, 4], [4, 5]],
    [[2, 3, 4], [2, 4, 5]],
    [[2, 1, 3, 4], [5, 4, 2]], // batch axes broadcast on both sides
    [[2, 3, 4], [4, 2]], // a batched, b a matrix
    [[3, 4], [2, 4, 5]], // a a matrix, b batched
  ];
  for (const [sa, sb] of MATMUL) {
    test(`matmul [${sa}] @ [${sb}]`, () => gradCheck('matmul', (g, { a, b }) => F.matmul(a!, b!), { a: randomTensor(sa, 30), b: randomTensor(sb, 31) }));
  }

  test('matmul of a tensor with its own transpose', () => gradCheck('matmul', (g, { x }) => F.matmul(x!, F.transposeLast2(x!)), { x: randomTensor([2, 3, 4], 32) }));

  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      test(`gemm transA=${transA} transB=${transB}`, async () => {
        const a = randomTensor(transA ? [4, 3] : [3, 4], 33);
        const b = randomTensor(transB ? [5, 4] : [4, 5], 34);
        await gradCheck('gemm', (g, t) => F.gemm(t.a!, t.b!, { transA, transB }), { a, b });
        // Forward against the explicit product.
        const A = (i: number, k: number): number => (a.data as Float32Array)[transA ? k * 3 + i : i * 4 + k]!;
        const B = (k: number, j: number): number => (b.data as Float32Array)[transB ? j * 4 + k : k * 5 + j]!;
        const expected: number[] = [];
        for (let i = 0; i < 3; i++) for (let j = 0; j < 5; j++) expected.push([0, 1, 2, 3].reduce((s, k) => s + A(i, k) * B(k, j), 0));
        assertClose(await forward((g, t) => F.gemm(t.a!, t.b!, { transA, transB }), { a, b }), [3, 5], expected, 1e-5, 'gemm forward');
      });
    }
  }

  test('linear on 2-D input', () =>
    gradCheck('linear', (g, { x, w, b }) => F.linear(x!, w!, b!), { x: randomTensor([3, 4], 35), w: randomTensor([5, 4], 36), b: randomTensor([5], 37) }));

  test('linear on 3-D input without bias', () =>
    gradCheck('linear', (g, { x, w }) => F.linear(x!, w!), { x: randomTensor([2, 3, 4], 38), w: randomTensor([5, 4], 39) }));

  test('linear on 3-D input with bias', () =>
    gradCheck('linear', (g, { x, w, b }) => F.linear(x!, w!, b!), { x: randomTensor([2, 3, 4], 40), w: randomTensor([5, 4], 41), b: randomTensor([5], 42) }));
});
