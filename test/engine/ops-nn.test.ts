// Softmax, normalisation, embeddings and attention: gradient checks and forward values against plain
// JavaScript; and proof that the gradient checker itself fails on a wrong gradient rule.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type OpDef, apply1 } from '../../src/engine/graph.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { gradCheck, randomTensor } from './gradcheck.js';
import { assertClose, attentionRef, forward, groupNormRef, int64Tensor, mapTensor, softmaxRef } from './reference.js';

describe('softmax', () => {
  for (const axis of [0, 1, 2, -1]) {
    test(`axis ${axis}`, async () => {
      const x = randomTensor([2, 3, 4], 1);
      await gradCheck('softmax', (g, t) => F.softmax(t.x!, axis), { x });
      assertClose(await forward((g, t) => F.softmax(t.x!, axis), { x }), [2, 3, 4], softmaxRef(x, (axis + 3) % 3), 1e-5, 'softmax forward');
    });
  }

  test('large logits do not overflow', async () => {
    const x = mapTensor(randomTensor([2, 5], 2), (v) => 80 * v);
    assertClose(await forward((g, t) => F.softmax(t.x!), { x }), [2, 5], softmaxRef(x, 1), 1e-5, 'softmax forward');
  });
});

describe('normalisation', () => {
  test('standardize over the last axis', () => gradCheck('standardize', (g, { x }) => F.standardize(x!), { x: randomTensor([3, 6], 10) }));

  test('standardize of a 3-D tensor with a large eps', () => gradCheck('standardize', (g, { x }) => F.standardize(x!, 0.5), { x: randomTensor([2, 3, 5], 11) }));

  test('standardize forward', async () => {
    const x = mapTensor(randomTensor([4, 6], 12), (v) => 3 * v + 2);
    const y = await forward((g, t) => F.standardize(t.x!), { x });
    // Per row: zero mean and unit (biased) variance, up to eps.
    for (let r = 0; r < 4; r++) {
      const row = Array.from((y.data as Float32Array).subarray(r * 6, r * 6 + 6));
      const m = row.reduce((a, b) => a + b) / 6;
      const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / 6;
      assert.ok(Math.abs(m) < 1e-5 && Math.abs(v - 1) < 1e-3, `row ${r}: mean ${m}, variance ${v}`);
    }
  });

  test('layerNorm with weight and bias on 3-D input', () =>
    gradCheck('layerNorm', (g, { x, w, b }) => F.layerNorm(x!, w!, b!), { x: randomTensor([2, 3, 6], 13), w: randomTensor([6], 14), b: randomTensor([6], 15) }));

  test('layerNorm without affine', () => gradCheck('layerNorm', (g, { x }) => F.layerNorm(x!), { x: randomTensor([4, 5], 16) }));

  const GROUP_NORM: { label: string; x: number[]; groups: number; affine: boolean; eps?: number }[] = [
    { label: '3 groups of 2 channels, affine', x: [2, 6, 3, 3], groups: 3, affine: true },
    { label: 'one group (layer norm over C, H, W)', x: [2, 4, 3, 2], groups: 1, affine: true },
    { label: 'one channel per group (instance norm)', x: [1, 4, 3, 3], groups: 4, affine: false },
    { label: 'on [N, C, L] input', x: [2, 4, 5], groups: 2, affine: true },
    { label: 'eps 1', x: [2, 4, 2, 2], groups: 2, affine: true, eps: 1 },
  ];
  for (const c of GROUP_NORM) {
    test(`groupNorm: ${c.label}`, async () => {
      const x = mapTensor(randomTensor(c.x, 17), (v) => 2 * v + 0.5);
      const channels = c.x[1]!;
      const inputs: Record<string, HostTensor> = c.affine ? { x, w: randomTensor([channels], 18), b: randomTensor([channels], 19) } : { x };
      await gradCheck(`groupNorm ${c.label}`, (g, t) => F.groupNorm(t.x!, c.groups, t.w, t.b, c.eps), inputs);
      const expected = groupNormRef(x, c.groups, inputs.w, inputs.b, c.eps ?? 1e-5);
      assertClose(await forward((g, t) => F.groupNorm(t.x!, c.groups, t.w, t.b, c.eps), inputs), c.x, expected, 1e-4, 'groupNorm forward');
    });
  }
});

describe('embedding', () => {
  const indices = int64Tensor([2, 4], [1, 3, 1, 0, 3, 3, 4, 1]); // repeated rows accumulate their gradients

  test('gradient with repeated indices', () =>
    gradCheck('embedding', (g, { table, idx }) => F.embedding(table!, idx!), { table: randomTensor([5, 3], 20) }, { fixed: { idx: indices } }));

  test('gradient through a function of the looked-up rows', () =>
    gradCheck('embedding', (g, { table, idx }) => F.tanh(F.mul(F.embedding(table!, idx!), F.embedding(table!, idx!))), { table: randomTensor([5, 3], 21) }, { fixed: { idx: indices } }));

  test('forward', async () => {
    const table = randomTensor([5, 3], 22);
    const T = table.data as Float32Array;
    const expected = [1, 3, 1, 0, 3, 3, 4, 1].flatMap((row) => [T[row * 3]!, T[row * 3 + 1]!, T[row * 3 + 2]!]);
    assertClose(await forward((g, t) => F.embedding(t.table!, t.idx!), { table, idx: indices }), [2, 4, 3], expected, 0);
  });
});

describe('attention', () => {
  test('self-attention (q = k = v from the same tensor)', () => gradCheck('attention', (g, { x }) => F.attention(x!, x!, x!), { x: randomTensor([2, 4, 8], 30) }));

  test('self-attention with projections', () =>
    gradCheck('attention', (g, { x, wq, wk, wv }) => F.attention(F.linear(x!, wq!), F.linear(x!, wk!), F.linear(x!, wv!)), {
      x: randomTensor([2, 5, 6], 31), wq: randomTensor([4, 6], 32), wk: randomTensor([4, 6], 33), wv: randomTensor([3, 6], 34),
    }));

  test('cross-attention (different lengths and value width)', () =>
    gradCheck('attention', (g, { q, k, v }) => F.attention(q!, k!, v!), { q: randomTensor([2, 3, 4], 35), k: randomTensor([2, 6, 4], 36), v: randomTensor([2, 6, 5], 37) }));

  test('multi-head layout [batch, heads, tokens, width]', () =>
    gradCheck('attention', (g, { q, kv }) => F.attention(q!, kv!, kv!), { q: randomTensor([1, 2, 3, 4], 38), kv: randomTensor([1, 2, 5, 4], 39) }));

  test('forward: self and cross', async () => {
    const x = randomTensor([2, 4, 8], 40);
    const self = attentionRef(x, x, x);
    assertClose(await forward((g, t) => F.attention(t.x!, t.x!, t.x!), { x }), self.shape, self.data, 1e-5, 'self-attention forward');
    const q = randomTensor([2, 3, 4], 41);
    const k = randomTensor([2, 6, 4], 42);
    const v = randomTensor([2, 6, 5], 43);
    const cross = attentionRef(q, k, v);
    assertClose(await forward((g, t) => F.attention(t.q!, t.k!, t.v!), { q, k, v }), cross.shape, cross.data, 1e-5, 'cross-attention forward');
  });
});

describe('the gradient checker', () => {
  // x² with a rule that forgets the factor 2, and x³ with a rule that is only 10% off.
  const wrongSquare: OpDef = {
    name: 'wrongSquare',
    infer: ([x]) => [{ shape: [...x!.shape], dtype: x!.dtype }],
    lower: (emit, [x], [y]) => emit.node('Mul', [x!, x!], [y!]),
    vjp: ([g], { inputs: [x] }) => [F.mul(g!, x!)],
  };
  const slightlyWrongCube: OpDef = {
    name: 'slightlyWrongCube',
    infer: ([x]) => [{ shape: [...x!.shape], dtype: x!.dtype }],
    lower: (emit, [x], [y]) => {
      const square = emit.temp('square');
      emit.node('Mul', [x!, x!], [square]);
      emit.node('Mul', [square, x!], [y!]);
    },
    vjp: ([g], { inputs: [x] }) => [F.mul(g!, F.mul(F.mul(x!, x!), 3.3))],
  };
  const rightCube: OpDef = { ...slightlyWrongCube, name: 'rightCube', vjp: ([g], { inputs: [x] }) => [F.mul(g!, F.mul(F.mul(x!, x!), 3))] };

  test('fails on a rule missing a factor', () =>
    assert.rejects(gradCheck('wrongSquare', (g, { x }) => apply1(wrongSquare, [x!], {}), { x: randomTensor([3, 4], 50) }), /wrongSquare: gradient of 'x'.*analytic/));

  test('fails on a rule 10% off', () =>
    assert.rejects(gradCheck('slightlyWrongCube', (g, { x }) => apply1(slightlyWrongCube, [x!], {}), { x: randomTensor([3, 4], 51) }), /slightlyWrongCube/));

  test('fails when the wrong rule is buried in a larger graph', () =>
    assert.rejects(gradCheck('buried', (g, { x, w }) => F.sum(F.tanh(apply1(wrongSquare, [F.linear(x!, w!)], {})), 1), { x: randomTensor([2, 3], 52), w: randomTensor([4, 3], 53) }), /buried/));

  test('passes on the correct rule', () => gradCheck('rightCube', (g, { x }) => apply1(rightCube, [x!], {}), { x: randomTensor([3, 4], 51) }));
});
