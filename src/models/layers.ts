// The primitive layers: linear, convolution, normalisations; each declares its parameters with
// their initialisers (declarations.ts).

import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';
import { ONES, type WeightInit, ZEROS, param, weightInit } from './declarations.js';
import type { ModuleContext } from './module-context.js';

/** Parameter names of a primitive layer: on the current module itself when `name` is empty. */
const qualified = (name: string, leaf: string): string => (name ? `${name}.${leaf}` : leaf);

/** y = x Wᵀ + b over the last axis. */
export function linear(ctx: ModuleContext, name: string, x: Tensor, outFeatures: number, init: WeightInit = 'fanIn'): Tensor {
  const inFeatures = x.shape.at(-1)!;
  const weight = param(ctx, qualified(name, 'weight'), [outFeatures, inFeatures], weightInit(init, inFeatures, outFeatures));
  return F.linear(x, weight, param(ctx, qualified(name, 'bias'), [outFeatures], ZEROS));
}

export interface ConvSettings {
  stride?: number;
  /** Defaults to 'same' padding for odd kernels. */
  padding?: number;
  init?: WeightInit;
}

/** A convolution layer's signature: conv below, or a conditional convolution (cond-conv.ts) in its place. */
export type Convolve = (ctx: ModuleContext, name: string, x: Tensor, outChannels: number, kernel: number, settings?: ConvSettings) => Tensor;

export function conv(ctx: ModuleContext, name: string, x: Tensor, outChannels: number, kernel: number, settings: ConvSettings = {}): Tensor {
  const inChannels = x.shape[1]!;
  const fanIn = inChannels * kernel * kernel;
  const weight = param(ctx, qualified(name, 'weight'), [outChannels, inChannels, kernel, kernel], weightInit(settings.init ?? 'fanIn', fanIn, outChannels * kernel * kernel));
  const bias = param(ctx, qualified(name, 'bias'), [outChannels], ZEROS);
  return F.conv2d(x, weight, bias, { stride: settings.stride ?? 1, padding: settings.padding ?? (kernel - 1) / 2 });
}

export function groupNorm(ctx: ModuleContext, name: string, x: Tensor, groups: number): Tensor {
  const channels = x.shape[1]!;
  return F.groupNorm(x, groups, param(ctx, `${name}.weight`, [channels], ONES), param(ctx, `${name}.bias`, [channels], ZEROS));
}

export function layerNorm(ctx: ModuleContext, name: string, x: Tensor): Tensor {
  const width = x.shape.at(-1)!;
  return F.layerNorm(x, param(ctx, `${name}.weight`, [width], ONES), param(ctx, `${name}.bias`, [width], ZEROS));
}

/**
 * Brings cached features of batch b to the batch of the current call, a multiple of b, by repeating
 * them copy-major: rows [copy 0: b rows, copy 1: b rows, ...].
 */
export function matchBatch(what: string, features: Tensor, batch: number): Tensor {
  const cached = features.shape[0]!;
  if (batch % cached !== 0) throw new Error(`${what}: features of batch ${cached} cannot be tiled to batch ${batch}`);
  return batch === cached ? features : F.concat(new Array<Tensor>(batch / cached).fill(features), 0);
}
