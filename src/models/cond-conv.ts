// A multi-expert conditional convolution (CondConv, Yang et al. 2019; A-SDM's ME-CondConv): K
// expert kernels, and per sample a routed mix r_k = sigmoid(route(x))_k of them. Routing reads the
// block input's global average pool, and optionally the conditioning embedding as well. Because
// convolution is linear in its kernel, mixing the kernels and mixing the experts' outputs give the
// same result; they differ in cost:
//   'kernels'  mixes the K kernels per sample (a [B, K] x [K, Cout·Cin·k·k] matmul) and runs one
//              grouped convolution with the batch folded into the groups: about one conv's FLOPs;
//   'outputs'  runs the K experts as one convolution with K·Cout output channels and mixes the
//              outputs: K convs' FLOPs, but plain (ungrouped) convolutions, and no per-sample kernels.
// Parameters: <name>.experts [K, Cout, Cin, k, k], <name>.bias [K, Cout] (mixed like the kernels),
// <name>.route.weight [K, Cin] and .bias [K], and with an embedding <name>.routeEmb.weight [K, E].

import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';
import { type WeightInit, ZEROS, param, weightInit } from './declarations.js';
import { linear } from './layers.js';
import { requireInteger, requireOneOf } from './config-checks.js';
import type { ModuleContext } from './module-context.js';

export const COND_CONV_FORMS = ['kernels', 'outputs'] as const;
export type CondConvForm = (typeof COND_CONV_FORMS)[number];

export const COND_CONV_ROUTES = ['input', 'input+time'] as const;
export type CondConvRoute = (typeof COND_CONV_ROUTES)[number];

export interface CondConvSettings {
  experts: number;
  form: CondConvForm;
  /** Activated conditioning embedding [B, E], routed from when given (the 'input+time' route). */
  emb?: Tensor;
  stride?: number;
  /** Defaults to 'same' padding for odd kernels. */
  padding?: number;
  init?: WeightInit;
}

/** The routing weights r [B, K] in (0, 1): sigmoid of a linear map of GAP(x) (plus one of the embedding). */
function routing(ctx: ModuleContext, name: string, x: Tensor, experts: number, emb: Tensor | undefined): Tensor {
  let logits = linear(ctx, `${name}.route`, F.mean(x, [2, 3]), experts);
  if (emb) {
    const weight = param(ctx, `${name}.routeEmb.weight`, [experts, emb.shape[1]!], weightInit('fanIn', emb.shape[1]!, experts));
    logits = F.add(logits, F.linear(emb, weight));
  }
  return F.sigmoid(logits);
}

export function condConv(ctx: ModuleContext, name: string, x: Tensor, outChannels: number, kernel: number, settings: CondConvSettings): Tensor {
  const { experts: count, form, emb } = settings;
  const [batch, inChannels, height, width] = x.shape as number[];
  const kernelSize = inChannels! * kernel * kernel;
  const experts = param(ctx, `${name}.experts`, [count, outChannels, inChannels!, kernel, kernel], weightInit(settings.init ?? 'fanIn', kernelSize, outChannels * kernel * kernel));
  const biases = param(ctx, `${name}.bias`, [count, outChannels], ZEROS);
  const r = routing(ctx, name, x, count, emb);
  const options = { stride: settings.stride ?? 1, padding: settings.padding ?? (kernel - 1) / 2 };
  const bias = F.reshape(F.matmul(r, biases), [batch!, outChannels, 1, 1]);
  if (form === 'kernels') {
    const kernels = F.reshape(F.matmul(r, F.reshape(experts, [count, outChannels * kernelSize])), [batch! * outChannels, inChannels!, kernel, kernel]);
    const folded = F.conv2d(F.reshape(x, [1, batch! * inChannels!, height!, width!]), kernels, undefined, { ...options, groups: batch! });
    const [, , outHeight, outWidth] = folded.shape as number[];
    return F.add(F.reshape(folded, [batch!, outChannels, outHeight!, outWidth!]), bias);
  }
  const all = F.conv2d(x, F.reshape(experts, [count * outChannels, inChannels!, kernel, kernel]), undefined, options);
  const [, , outHeight, outWidth] = all.shape as number[];
  const perExpert = F.reshape(all, [batch!, count, outChannels, outHeight! * outWidth!]);
  const mixed = F.sum(F.mul(perExpert, F.reshape(r, [batch!, count, 1, 1])), 1);
  return F.add(F.reshape(mixed, [batch!, outChannels, outHeight!, outWidth!]), bias);
}

/** The settings a model config carries for its conditional convolutions, with their checks. */
export interface CondConvConfig {
  condConvExperts: number;
  condConvForm: CondConvForm;
  condConvRoute: CondConvRoute;
}

export const COND_CONV_DEFAULTS: CondConvConfig = {
  condConvExperts: 4, // experts of every conditional convolution
  condConvForm: 'kernels', // 'kernels': mix the kernels per sample, one grouped conv (about one conv's cost); 'outputs': run all experts, mix their outputs
  condConvRoute: 'input', // 'input': route from the block input's global average pool; 'input+time': from the conditioning embedding too
};

export function validateCondConv(arch: string, config: CondConvConfig): void {
  requireInteger(arch, 'condConvExperts', config.condConvExperts, 1);
  requireOneOf(arch, 'condConvForm', config.condConvForm, COND_CONV_FORMS);
  requireOneOf(arch, 'condConvRoute', config.condConvRoute, COND_CONV_ROUTES);
}
