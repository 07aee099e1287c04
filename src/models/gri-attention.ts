// Global-regional interactive (GRI) attention (A-SDM): each query of an H x W token grid attends to
// the w x w window it lies in (regional) and to g pooled tokens summarising the whole map (global:
// the keys and values average-pooled over p x p cells, as PVT's spatial reduction; pooling after the
// projection equals projecting the pooled tokens, since both are linear). The scores cost
// 2·N·(w² + g)·d per head instead of full attention's 2·N²·d, with N = H·W and g = (H/p)·(W/p).
// It has full attention's projections, so a full-attention model's weights initialise it.

import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';
import { type Attend } from './transformer.js';
import { ModelConfigError, requireInteger, requireOneOf } from './config-checks.js';

export interface GriSettings {
  /** Side of a regional window in tokens. */
  window: number;
  /** Side of the cell pooled into one global token. */
  pool: number;
}

/** [B, h, H·W, d] -> [B, h, (H/w)·(W/w), w·w, d]: the tokens of each window, windows in row-major order. */
function toWindows(x: Tensor, [height, width]: readonly [number, number], window: number): Tensor {
  const [batch, heads, , depth] = x.shape as number[];
  const grid = F.reshape(x, [batch! * heads!, height / window, window, width / window, window, depth!]);
  return F.reshape(F.transpose(grid, [0, 1, 3, 2, 4, 5]), [batch!, heads!, (height / window) * (width / window), window * window, depth!]);
}

function fromWindows(x: Tensor, [height, width]: readonly [number, number], window: number): Tensor {
  const [batch, heads, , , depth] = x.shape as number[];
  const grid = F.reshape(x, [batch! * heads!, height / window, width / window, window, window, depth!]);
  return F.reshape(F.transpose(grid, [0, 1, 3, 2, 4, 5]), [batch!, heads!, height * width, depth!]);
}

/** [B, h, H·W, d] -> [B, h, 1, g, d]: the mean of each p x p cell, broadcastable over the windows. */
function pooled(x: Tensor, [height, width]: readonly [number, number], pool: number): Tensor {
  const [batch, heads, , depth] = x.shape as number[];
  const cells = F.reshape(x, [batch! * heads!, height / pool, pool, width / pool, pool, depth!]);
  return F.reshape(F.mean(cells, [2, 4]), [batch!, heads!, 1, (height / pool) * (width / pool), depth!]);
}

/** GRI attention over a token grid of `grid` = [H, W]; throws when the window or the pool does not tile it. */
export function griAttention(grid: readonly [number, number], { window, pool }: GriSettings): Attend {
  const [height, width] = grid;
  for (const [what, side] of [['window', window], ['pool', pool]] as const) {
    if (height % side !== 0 || width % side !== 0) throw new ModelConfigError(`GRI attention: the ${what} side ${side} does not tile the ${height}x${width} token grid`);
  }
  // Scores against the window's keys and against the global ones are two products (the global keys
  // broadcast over the windows rather than copied into each), normalised by one softmax.
  return (q, k, v) => {
    const scaled = F.mul(q, 1 / Math.sqrt(q.shape.at(-1)!));
    const [queries, keys, values] = [scaled, k, v].map((t) => toWindows(t, grid, window));
    const [globalKeys, globalValues] = [k, v].map((t) => pooled(t, grid, pool));
    const scores = F.concat([F.matmul(queries!, F.transposeLast2(keys!)), F.matmul(queries!, F.transposeLast2(globalKeys!))], -1);
    const [regional, global] = F.split(F.softmax(scores), [window * window, globalKeys!.shape[3]!], -1);
    return fromWindows(F.add(F.matmul(regional!, values!), F.matmul(global!, globalValues!)), grid, window);
  };
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
export function attendFor(arch: string, config: AttentionConfig, grid: readonly [number, number]): Attend | undefined {
  if (config.attention === 'full') return undefined;
  try {
    return griAttention(grid, { window: config.attentionWindow, pool: config.attentionPool });
  } catch (error) {
    if (error instanceof ModelConfigError) throw new ModelConfigError(`${arch}: ${error.message} (settings 'attentionWindow', 'attentionPool')`);
    throw error;
  }
}
