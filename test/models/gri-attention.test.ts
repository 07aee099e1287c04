// Global-regional attention against a direct host loop, its gradients by finite differences, its
// cost against full attention, and the U-Net and DiT option with full attention's parameter names.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor } from '../../src/engine/graph.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { traceFunction } from '../../src/engine/runtime.js';
import { griAttention } from '../../src/models/gri-attention.js';
import { ModelConfigError } from '../../src/models/config-checks.js';
import { netTraceFn } from '../../src/models/network.js';
import type { SelfAttention } from '../../src/models/transformer.js';
import { createModel } from '../../src/models/registry.js';
import { gradCheck, randomTensor } from '../engine/gradcheck.js';
import { forward } from '../engine/reference.js';
import { maxAbs, maxAbsDiff, randomInputs, randomParams, runOnce } from './helpers.js';

/** For each query: softmax over its window's keys (row-major) and the p x p cell means of all keys, scaled by 1/sqrt(d). */
function reference(q: HostTensor, k: HostTensor, v: HostTensor, [height, width]: [number, number], window: number, pool: number): Float64Array {
  const [batch, heads, tokens, depth] = q.shape as number[];
  const at = (t: HostTensor, bh: number, token: number, i: number): number => (t.data as Float32Array)[(bh * tokens! + token) * depth! + i]!;
  const out = new Float64Array(q.data.length);
  for (let bh = 0; bh < batch! * heads!; bh++) {
    const cellMean = (t: HostTensor, cr: number, cc: number, i: number): number => {
      let s = 0;
      for (let r = 0; r < pool; r++) for (let c = 0; c < pool; c++) s += at(t, bh, (cr * pool + r) * width + cc * pool + c, i);
      return s / (pool * pool);
    };
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        const keys: ((t: HostTensor, i: number) => number)[] = [];
        const [top, left] = [row - (row % window), col - (col % window)];
        for (let r = 0; r < window; r++) for (let c = 0; c < window; c++) keys.push((t, i) => at(t, bh, (top + r) * width + left + c, i));
        for (let cr = 0; cr < height / pool; cr++) for (let cc = 0; cc < width / pool; cc++) keys.push((t, i) => cellMean(t, cr, cc, i));
        const query = row * width + col;
        const scores = keys.map((key) => {
          let s = 0;
          for (let i = 0; i < depth!; i++) s += at(q, bh, query, i) * key(k, i);
          return s / Math.sqrt(depth!);
        });
        const top1 = Math.max(...scores);
        const weights = scores.map((s) => Math.exp(s - top1));
        const total = weights.reduce((a, b) => a + b, 0);
        for (let i = 0; i < depth!; i++) out[(bh * tokens! + query) * depth! + i] = keys.reduce((s, key, j) => s + (weights[j]! / total) * key(v, i), 0);
      }
    }
  }
  return out;
}

/** The attention on q, k and v [B, h, T, d] in row-major token order, through its own token order. */
function rowMajor({ attend, order }: SelfAttention, q: Tensor, k: Tensor, v: Tensor): Tensor {
  return order!.from(attend(order!.to(q), order!.to(k), order!.to(v)));
}

const qkv = (shape: number[], seed: number): Record<string, HostTensor> => ({ q: randomTensor(shape, seed), k: randomTensor(shape, seed + 1), v: randomTensor(shape, seed + 2) });

test('gri-attention: equals a direct loop over windows and pooled global tokens (square and oblong grids)', async () => {
  for (const [grid, window, pool] of [[[4, 4], 2, 2], [[4, 6], 2, 2], [[6, 6], 3, 6], [[8, 8], 4, 2], [[4, 8], 2, 4]] as [[number, number], number, number][]) {
    const inputs = qkv([2, 2, grid[0] * grid[1], 4], 3);
    const y = await forward((_, t) => rowMajor(griAttention(grid, { window, pool }), t.q!, t.k!, t.v!), inputs);
    const expected = reference(inputs.q!, inputs.k!, inputs.v!, grid, window, pool);
    const worst = Math.max(...Array.from(y.data as Float32Array, (value, i) => Math.abs(value - expected[i]!)));
    assert.ok(worst < 1e-5, `grid ${grid}, window ${window}, pool ${pool}: max difference ${worst}`);
  }
});

test('gri-attention: gradients of q, k and v match finite differences', async () => {
  const attention = griAttention([4, 4], { window: 2, pool: 2 });
  await gradCheck('gri attention', (_, t) => rowMajor(attention, t.q!, t.k!, t.v!), qkv([1, 2, 16, 4], 5));
});

test('gri-attention: at 16x16 tokens it costs a fraction of full attention', () => {
  const flops = (fn: (t: Record<string, ReturnType<typeof F.reshape>>) => ReturnType<typeof F.reshape>): number => {
    const spec = { shape: [1, 4, 256, 16], dtype: 'float32' as const };
    const { graph } = traceFunction((_, t) => ({ y: fn(t) }), { q: spec, k: spec, v: spec });
    return graph.nodes.reduce((sum, node) => sum + (node.op.flops?.(node) ?? 0), 0);
  };
  const full = flops((t) => F.attention(t.q!, t.k!, t.v!));
  const gri = flops((t) => rowMajor(griAttention([16, 16], { window: 4, pool: 4 }), t.q!, t.k!, t.v!));
  // Scores and weighted sums over w² + g = 32 keys per query instead of 256.
  assert.ok(gri < full / 5, `GRI ${gri} vs full ${full}`);
});

test('gri-attention: U-Net and DiT take it with full attention\'s parameters, and name a window that does not tile', async () => {
  const configs = [
    { arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [8], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16 },
    { arch: 'dit', resolution: 8, patchSize: 1, width: 16, depth: 2, heads: 2, mlpRatio: 2 },
  ];
  for (const config of configs) {
    const full = createModel(config);
    const gri = createModel({ ...config, attention: 'gri', attentionWindow: 4, attentionPool: 2 });
    assert.deepEqual([...gri.paramShapes()], [...full.paramShapes()], config.arch);
    const params = randomParams(full, 1);
    const inputs = randomInputs(full, 2, 2);
    const a = (await runOnce(netTraceFn(full), params, inputs)).out!;
    const b = (await runOnce(netTraceFn(gri), params, inputs)).out!;
    assert.ok(maxAbs(b) > 0 && maxAbsDiff(a, b) > 1e-4, `${config.arch}: GRI attention changes the output`);
    assert.throws(() => createModel({ ...config, attention: 'gri', attentionWindow: 3 }), (e: Error) => e instanceof ModelConfigError && /the window side 3 does not tile the 8x8 token grid/.test(e.message) && e.message.startsWith(config.arch));
  }
  assert.throws(() => griAttention([12, 12], { window: 4, pool: 6 }), /the pool side 6 must divide the window side 4 or be a multiple of it/);
  assert.throws(() => createModel({ ...configs[0], attention: 'local' }), /'attention' must be one of full, gri/);
});
