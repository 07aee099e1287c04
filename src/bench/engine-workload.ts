// The reference workload of `hasten bench engine`: a small U-Net-like stack with the op mix of a
// diffusion U-Net (3x3 convs, group norm, SiLU, strided downsampling, self-attention at low
// resolution, nearest upsampling, skip concatenation, 1x1 residual convs), trained on an MSE loss.
// The peers in src/bench/peers/ implement exactly this network; keep them in step.

import { type HostTensor, type ParamTree, numel } from '../engine/host-tensor.js';
import { RngStream } from '../engine/rng.js';
import type { Graph, Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';

export const WORKLOAD = {
  batch: 16,
  imageChannels: 3,
  resolution: 32,
  channels: [64, 128, 128] as const, // per level: 32x32, 16x16, 8x8
  groups: 8, // group-norm groups
  heads: 4, // attention heads at 8x8
};

export interface LayerSpec {
  name: string;
  kind: 'conv' | 'attention';
  /** conv: [out, in, k, k] and output spatial size; attention: tokens and width. */
  weight?: [number, number, number, number];
  outSize: number;
  tokens?: number;
  width?: number;
}

/** Every conv and attention product of the forward pass, in order; FLOPs follow from these. */
export function workloadLayers(): LayerSpec[] {
  const [c1, c2, c3] = WORKLOAD.channels;
  const r = WORKLOAD.resolution;
  const conv = (name: string, out: number, inp: number, k: number, outSize: number): LayerSpec => ({ name, kind: 'conv', weight: [out, inp, k, k], outSize });
  return [
    conv('conv_in', c1, WORKLOAD.imageChannels, 3, r),
    conv('res1.conv1', c1, c1, 3, r), conv('res1.conv2', c1, c1, 3, r),
    conv('down1', c2, c1, 3, r / 2),
    conv('res2.conv1', c2, c2, 3, r / 2), conv('res2.conv2', c2, c2, 3, r / 2),
    conv('down2', c3, c2, 3, r / 4),
    conv('res3.conv1', c3, c3, 3, r / 4), conv('res3.conv2', c3, c3, 3, r / 4),
    conv('attn.qkv', 3 * c3, c3, 1, r / 4),
    { name: 'attn.core', kind: 'attention', outSize: r / 4, tokens: (r / 4) ** 2, width: c3 },
    conv('attn.proj', c3, c3, 1, r / 4),
    conv('up1.conv1', c2, c3 + c2, 3, r / 2), conv('up1.conv2', c2, c2, 3, r / 2), conv('up1.skip', c2, c3 + c2, 1, r / 2),
    conv('up2.conv1', c1, c2 + c1, 3, r), conv('up2.conv2', c1, c1, 3, r), conv('up2.skip', c1, c2 + c1, 1, r),
    conv('conv_out', WORKLOAD.imageChannels, c1, 3, r),
  ];
}

/** Forward FLOPs of the convolutions and attention products (2 per multiply-add) for one batch. */
export function workloadForwardFlops(batch = WORKLOAD.batch): number {
  let flops = 0;
  for (const layer of workloadLayers()) {
    if (layer.kind === 'conv') {
      const [out, inp, k] = layer.weight!;
      flops += 2 * batch * out * layer.outSize ** 2 * inp * k * k;
    } else {
      flops += 2 * 2 * batch * layer.tokens! ** 2 * layer.width!; // q kᵀ and (softmax) v
    }
  }
  return flops;
}

/** Training-step FLOPs by the usual convention: backward costs twice the forward. */
export const workloadTrainFlops = (batch = WORKLOAD.batch): number => 3 * workloadForwardFlops(batch);

export function workloadParamShapes(): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const layer of workloadLayers()) {
    if (layer.kind !== 'conv') continue;
    shapes.set(`${layer.name}.weight`, layer.weight!);
    shapes.set(`${layer.name}.bias`, [layer.weight![0]]);
  }
  const norms: [string, number][] = [
    ['res1.norm1', WORKLOAD.channels[0]], ['res1.norm2', WORKLOAD.channels[0]],
    ['res2.norm1', WORKLOAD.channels[1]], ['res2.norm2', WORKLOAD.channels[1]],
    ['res3.norm1', WORKLOAD.channels[2]], ['res3.norm2', WORKLOAD.channels[2]],
    ['attn.norm', WORKLOAD.channels[2]],
    ['up1.norm1', WORKLOAD.channels[2] + WORKLOAD.channels[1]], ['up1.norm2', WORKLOAD.channels[1]],
    ['up2.norm1', WORKLOAD.channels[1] + WORKLOAD.channels[0]], ['up2.norm2', WORKLOAD.channels[0]],
    ['norm_out', WORKLOAD.channels[0]],
  ];
  for (const [name, c] of norms) {
    shapes.set(`${name}.weight`, [c]);
    shapes.set(`${name}.bias`, [c]);
  }
  return shapes;
}

export const workloadParamCount = (): number => [...workloadParamShapes().values()].reduce((n, s) => n + numel(s), 0);

/** Our implementation of the workload on the engine's ops. */
export function workloadForward(g: Graph, x: Tensor): Tensor {
  const p = (name: string): Tensor => g.param(name, workloadParamShapes().get(name)!);
  const conv = (name: string, h: Tensor, stride = 1): Tensor => {
    const k = workloadParamShapes().get(`${name}.weight`)![2]!;
    return F.conv2d(h, p(`${name}.weight`), p(`${name}.bias`), { stride, padding: (k - 1) / 2 });
  };
  const norm = (name: string, h: Tensor): Tensor => F.silu(F.groupNorm(h, WORKLOAD.groups, p(`${name}.weight`), p(`${name}.bias`)));
  const resBlock = (name: string, h: Tensor, withSkipConv: boolean): Tensor => {
    const inner = conv(`${name}.conv2`, norm(`${name}.norm2`, conv(`${name}.conv1`, norm(`${name}.norm1`, h))));
    return F.add(inner, withSkipConv ? conv(`${name}.skip`, h) : h);
  };
  const selfAttention = (h: Tensor): Tensor => {
    const [n, c, hh, ww] = h.shape as number[];
    const heads = WORKLOAD.heads;
    const qkv = conv('attn.qkv', F.groupNorm(h, WORKLOAD.groups, p('attn.norm.weight'), p('attn.norm.bias')));
    // [n, 3c, h, w] -> [3, n, heads, tokens, c/heads]
    const split = F.transpose(F.reshape(qkv, [n!, 3, heads, c! / heads, hh! * ww!]), [1, 0, 2, 4, 3]);
    const [q, k, v] = F.split(split, [1, 1, 1], 0).map((t) => F.squeeze(t, 0));
    const attended = F.attention(q!, k!, v!); // [n, heads, tokens, c/heads]
    const back = F.reshape(F.transpose(attended, [0, 1, 3, 2]), [n!, c!, hh!, ww!]);
    return F.add(h, conv('attn.proj', back));
  };

  const h0 = conv('conv_in', x);
  const s1 = resBlock('res1', h0, false);
  const s2 = resBlock('res2', conv('down1', s1, 2), false);
  const h3 = selfAttention(resBlock('res3', conv('down2', s2, 2), false));
  const u1 = resBlock('up1', F.concat([F.upsampleNearest2d(h3), s2], 1), true);
  const u2 = resBlock('up2', F.concat([F.upsampleNearest2d(u1), s1], 1), true);
  return conv('conv_out', norm('norm_out', u2));
}

export function randomTensor(shape: number[], seed: number, scale = 1): HostTensor<'float32'> {
  const data = RngStream.fromSeed(seed, 'bench').normal({ start: 0, count: 1 }, shape);
  if (scale !== 1) for (let i = 0; i < data.length; i++) data[i] *= scale;
  return { dtype: 'float32', shape, data };
}

export function workloadParams(seed = 0): ParamTree {
  const params: ParamTree = new Map();
  let k = 0;
  for (const [name, shape] of workloadParamShapes()) {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    if (shape.length > 1) params.set(name, randomTensor(shape, seed * 1000 + k++, 1 / Math.sqrt(fanIn)));
    else params.set(name, { dtype: 'float32', shape, data: new Float32Array(shape[0]!).fill(name.endsWith('.weight') ? 1 : 0) });
  }
  return params;
}
