// Float64 gradient checks: in double precision the finite difference is accurate enough for a
// tolerance of 1e-6, a much sharper test of each rule than the float32 checks. ONNX Runtime's CPU
// provider has no float64 kernel for Erf, Conv, ConvTranspose, AveragePool or Resize: those ops
// (and gelu, built on erf) are listed as todo so that a runtime that gains the kernels shows up.

import { describe, test } from 'node:test';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import type { Graph, Tensor } from '../../src/engine/graph.js';
import * as F from '../../src/engine/ops/index.js';
import { gradCheck, randomTensor } from './gradcheck.js';
import { int64Tensor, mapTensor } from './reference.js';

const r = (shape: number[], seed: number): HostTensor => randomTensor(shape, seed, 'float64');
const positive = (shape: number[], seed: number): HostTensor => mapTensor(r(shape, seed), (v) => 0.5 + Math.abs(v));
const TIGHT = { eps: 1e-5, tolerance: 1e-6 };

type Case = [string, (g: Graph, t: Record<string, Tensor>) => Tensor, Record<string, HostTensor>, Record<string, HostTensor>?];

const SUPPORTED: Case[] = [
  ['add, sub, mul, div with broadcasting', (g, { a, b }) => F.div(F.mul(F.sub(a!, b!), F.add(a!, 1)), b!), { a: r([2, 1, 4], 1), b: positive([3, 1], 2) }],
  ['pow', (g, { a, b }) => F.add(F.pow(a!, b!), F.pow(a!, 3)), { a: positive([2, 3], 3), b: r([3], 4) }],
  ['maximum, minimum', (g, { a, b }) => F.add(F.maximum(a!, b!), F.minimum(a!, F.mul(b!, 2))), { a: r([2, 3], 5), b: r([3], 6) }],
  ['exp, log, sqrt, rsqrt, abs', (g, { x }) => F.add(F.add(F.exp(x!), F.log(x!)), F.add(F.sqrt(x!), F.mul(F.rsqrt(x!), F.abs(F.neg(x!))))), { x: positive([5], 7) }],
  ['sin, cos, tanh, sigmoid, silu', (g, { x }) => F.mul(F.add(F.sin(x!), F.cos(x!)), F.add(F.tanh(x!), F.mul(F.sigmoid(x!), F.silu(x!)))), { x: r([6], 8) }],
  ['clamp, where', (g, { x }) => F.where(F.greater(x!, 0), F.clamp(x!, 0.1, 0.9), F.mul(x!, 2)), { x: r([8], 9) }],
  ['reshape, transpose, concat, split, slice, pad, broadcastTo', (g, { x }) => {
    const [a, b] = F.split(F.transpose(F.reshape(x!, [3, 4]), [1, 0]), [1, 3], 0);
    return F.mul(F.pad(F.slice(F.concat([b!, a!], 0), { 1: [0, 3, 2] }), [[0, 1], [1, 0]]), F.broadcastTo(F.reshape(F.sum(x!), [1, 1]), [5, 3]));
  }, { x: r([12], 10) }],
  ['sum, mean, max', (g, { x }) => F.add(F.add(F.sum(x!, 0), F.mean(F.mul(x!, x!), 0)), F.max(x!, 0)), { x: r([4, 3], 11) }],
  ['matmul, gemm, linear', (g, { a, b }) => F.add(F.matmul(a!, F.transposeLast2(b!)), F.linear(a!, b!, F.sum(b!, 1))), { a: r([3, 4], 12), b: r([2, 4], 13) }],
  ['softmax', (g, { x }) => F.softmax(x!, 0), { x: r([3, 4], 14) }],
  ['standardize, layerNorm, groupNorm', (g, { x, w }) => F.add(F.layerNorm(F.standardize(x!), w!, w!), F.reshape(F.groupNorm(F.reshape(x!, [2, 4, 3]), 2), [2, 12])), { x: r([2, 12], 15), w: r([12], 16) }],
  ['groupNorm with its affine transform (one op)', (g, { x, w, b }) => F.mul(F.groupNorm(x!, 2, w!, b!), x!), { x: r([2, 4, 3, 2], 22), w: r([4], 23), b: r([4], 24) }],
  ['embedding', (g, { table, idx }) => F.embedding(table!, idx!), { table: r([4, 3], 17) }, { idx: int64Tensor([5], [1, 3, 1, 0, 1]) }],
  ['attention', (g, { q, kv }) => F.attention(q!, kv!, kv!), { q: r([2, 3, 4], 18), kv: r([2, 5, 4], 19) }],
];

const MISSING_KERNELS: [string, string, (g: Graph, t: Record<string, Tensor>) => Tensor, Record<string, HostTensor>][] = [
  ['erf', 'Erf', (g, { x }) => F.erf(x!), { x: r([4], 20) }],
  ['gelu', 'Erf', (g, { x }) => F.gelu(x!), { x: r([4], 21) }],
  ['conv2d', 'Conv', (g, { x, w }) => F.conv2d(x!, w!, undefined, { padding: 1 }), { x: r([1, 2, 4, 4], 22), w: r([3, 2, 3, 3], 23) }],
  ['convTranspose2d', 'ConvTranspose', (g, { x, w }) => F.convTranspose2d(x!, w!, undefined, { stride: 2 }), { x: r([1, 2, 3, 3], 24), w: r([2, 3, 3, 3], 25) }],
  ['avgPool2d', 'AveragePool', (g, { x }) => F.avgPool2d(x!, 2), { x: r([1, 2, 4, 4], 26) }],
  ['upsampleNearest2d', 'Resize', (g, { x }) => F.upsampleNearest2d(x!, 2), { x: r([1, 2, 3, 3], 27) }],
];

describe('float64 gradients', () => {
  for (const [name, fn, inputs, fixed] of SUPPORTED) test(name, () => gradCheck(`${name} (float64)`, fn, inputs, { ...TIGHT, fixed }));
  for (const [name, kernel, fn, inputs] of MISSING_KERNELS) {
    test(name, { todo: `ONNX Runtime's CPU provider has no float64 ${kernel} kernel` }, () => gradCheck(`${name} (float64)`, fn, inputs, TIGHT));
  }
});
