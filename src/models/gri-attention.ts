// Global-regional interactive (GRI) attention (A-SDM): each query of an H x W token grid attends to
// the w x w window it lies in (regional) and to g pooled tokens summarising the whole map (global:
// the keys and values average-pooled over p x p cells, as PVT's spatial reduction; pooling after the
// projection equals projecting the pooled tokens, since both are linear). The scores cost
// 2·N·(w² + g)·d per head instead of full attention's 2·N²·d, with N = H·W and g = (H/p)·(W/p).
// It has full attention's projections, so a full-attention model's weights initialise it.

import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';
import { type SelfAttention, type TokenOrder } from './transformer.js';
import { ModelConfigError, requireInteger, requireOneOf } from './config-checks.js';

export interface GriSettings {
  /** Side of a regional window in tokens. */
  window: number;
  /** Side of the cell pooled into one global token. */
  pool: number;
}

// The tokens run in window order (window by window in row-major order, each window's tokens in
// row-major order), so a window is a contiguous run of w² tokens: splitting the heads into windows
// is a reshape, and every window of every head is one batched product. The reordering is one
// transpose of the layer's input and one of its output, around the projections (which act on each
// token alike), in place of a transpose of each of q, k, v and the output inside the attention.

/**
 * [..., H·W, c]: row-major <-> window order. One transpose each way, of four axes: a row of windows
 * [w, W/w, w·c] (token rows of the windows, windows, a window row's tokens) swaps its first two.
 */
function windowOrder([height, width]: readonly [number, number], window: number): TokenOrder {
  const swap = (x: Tensor, [rows, columns]: [number, number]): Tensor => {
    const rowsOfWindows = x.shape.slice(0, -2).reduce((a, b) => a * b, 1) * (height / window);
    const grid = F.reshape(x, [rowsOfWindows, rows, columns, window * x.shape.at(-1)!]);
    return F.reshape(F.transpose(grid, [0, 2, 1, 3]), x.shape);
  };
  return { to: (x) => swap(x, [window, width / window]), from: (x) => swap(x, [width / window, window]) };
}

/**
 * [B, h, H·W, d] in window order -> [B, h, g, d]: the mean of each p x p cell (the cells' order is
 * immaterial: they are a set of keys with their values). A cell lies inside a window (p divides w)
 * or is made of whole windows (w divides p), so it is a reshape and one mean; axes of size 1 are
 * left out, so that the averaged axes sit side by side where they can (one run of memory at p = w).
 */
function pooled(x: Tensor, [height, width]: readonly [number, number], window: number, pool: number): Tensor {
  const [batch, heads, , depth] = x.shape as number[];
  // [size, averaged] for each axis of the token axis split at the cells' and windows' boundaries
  const axes: [number, boolean][] = window % pool === 0
    ? [[height / window, false], [width / window, false], [window / pool, false], [pool, true], [window / pool, false], [pool, true]]
    : [[height / pool, false], [pool / window, true], [width / pool, false], [pool / window, true], [window * window, true]];
  const kept = axes.filter(([size]) => size > 1);
  const averaged = kept.flatMap(([, mean], i) => (mean ? [i + 1] : []));
  const cells = F.reshape(x, [batch! * heads!, ...kept.map(([size]) => size), depth!]);
  return F.reshape(averaged.length ? F.mean(cells, averaged) : cells, [batch!, heads!, (height / pool) * (width / pool), depth!]);
}

/** GRI attention over a token grid of `grid` = [H, W]; throws when the window or the pool does not tile it. */
export function griAttention(grid: readonly [number, number], { window, pool }: GriSettings): SelfAttention {
  const [height, width] = grid;
  for (const [what, side] of [['window', window], ['pool', pool]] as const) {
    if (height % side !== 0 || width % side !== 0) throw new ModelConfigError(`GRI attention: the ${what} side ${side} does not tile the ${height}x${width} token grid`);
  }
  if (window % pool !== 0 && pool % window !== 0) throw new ModelConfigError(`GRI attention: the pool side ${pool} must divide the window side ${window} or be a multiple of it`);
  const span = window * window;
  // Scores against the window's keys and against the global ones are two products (the global keys
  // shared by all windows of a head, a product over all its queries at once), normalised by one softmax.
  const attend = (q: Tensor, k: Tensor, v: Tensor): Tensor => {
    const [batch, heads, tokens, depth] = q.shape as number[];
    const windows = (t: Tensor): Tensor => F.reshape(t, [batch!, heads!, tokens! / span, span, t.shape.at(-1)!]);
    const tokensOf = (t: Tensor): Tensor => F.reshape(t, [batch!, heads!, tokens!, t.shape.at(-1)!]);
    const scaled = F.mul(q, 1 / Math.sqrt(depth!));
    const [globalKeys, globalValues] = [k, v].map((t) => pooled(t, grid, window, pool));
    const regionalScores = tokensOf(F.matmul(windows(scaled), F.transposeLast2(windows(k))));
    const globalScores = F.matmul(scaled, F.transposeLast2(globalKeys!));
    const [regional, global] = F.split(F.softmax(F.concat([regionalScores, globalScores], -1)), [span, globalKeys!.shape[2]!], -1);
    return F.add(tokensOf(F.matmul(windows(regional!), windows(v))), F.matmul(global!, globalValues!));
  };
  return { attend, order: windowOrder(grid, window) };
}

// ---------------------------------------------------------------------------------------------
// The settings a model config carries for its self-attention.

export const ATTENTION_KINDS = ['full', 'gri'] as const;

export interface AttentionConfig {
  attention: (typeof ATTENTION_KINDS)[number];
  attentionWindow: number;
  attentionPool: number;
}

export const ATTENTION_DEFAULTS: AttentionConfig = {
  attention: 'full', // self-attention: 'full' over all tokens, or 'gri': a regional window plus pooled global tokens
  attentionWindow: 4, // 'gri': side of a regional window, in tokens
  attentionPool: 4, // 'gri': side of the cell pooled into one global token
};

export function validateAttention(arch: string, config: AttentionConfig): void {
  requireOneOf(arch, 'attention', config.attention, ATTENTION_KINDS);
  requireInteger(arch, 'attentionWindow', config.attentionWindow, 1);
  requireInteger(arch, 'attentionPool', config.attentionPool, 1);
}

/** The attention a config asks for over a token grid; undefined is full attention. */
export function attendFor(arch: string, config: AttentionConfig, grid: readonly [number, number]): SelfAttention | undefined {
  if (config.attention === 'full') return undefined;
  try {
    return griAttention(grid, { window: config.attentionWindow, pool: config.attentionPool });
  } catch (error) {
    if (error instanceof ModelConfigError) throw new ModelConfigError(`${arch}: ${error.message} (settings 'attentionWindow', 'attentionPool')`);
    throw error;
  }
}
