// Residual block (EDM's ADM "UNetBlock"): GroupNorm -> SiLU -> [resample] -> conv -> adaptive
// scale/shift from the embedding -> GroupNorm -> SiLU -> conv, plus a shortcut that is a 1x1 conv
// whenever the channel count changes. A decoder block's input is concat([h, skip]), so its shortcut
// is the 1x1 conv on the concatenated input through which Skip-Tuning's scaling survives the norm.

import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';
import { type Convolve, conv, groupNorm, linear } from './layers.js';
import type { ModuleContext } from './module-context.js';

export interface ResBlockSettings {
  outChannels: number;
  groups: number;
  /** Activated conditioning embedding [B, E]. */
  emb: Tensor;
  resample?: 'down' | 'up';
  /** false: the residual branch is removed and only the shortcut remains (a compressed student). */
  branch?: boolean;
  /** The branch's two 3x3 convolutions (default: plain conv; a conditional convolution for ME-CondConv). */
  convolve?: Convolve;
}

function resample(x: Tensor, how: 'down' | 'up' | undefined): Tensor {
  if (how === 'down') return F.avgPool2d(x, 2);
  if (how === 'up') return F.upsampleNearest2d(x, 2);
  return x;
}

export function resBlock(ctx: ModuleContext, x: Tensor, { outChannels, groups, emb, resample: how, branch = true, convolve = conv }: ResBlockSettings): Tensor {
  const shortcut = (): Tensor => {
    const input = resample(x, how);
    return x.shape[1] === outChannels ? input : conv(ctx, 'shortcut', input, outChannels, 1);
  };
  if (!branch) return shortcut();
  const batch = x.shape[0]!;
  let h = convolve(ctx, 'conv0', resample(F.silu(groupNorm(ctx, 'norm0', x, groups)), how), outChannels, 3);
  const [scale, shift] = F.chunk(F.reshape(linear(ctx, 'affine', emb, 2 * outChannels), [batch, 2 * outChannels, 1, 1]), 2, 1);
  h = F.silu(F.add(F.mul(groupNorm(ctx, 'norm1', h, groups), F.add(scale!, 1)), shift!));
  h = convolve(ctx, 'conv1', h, outChannels, 3, { init: 'zero' });
  return F.add(h, shortcut());
}
