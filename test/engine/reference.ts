// Plain-JavaScript reference computations for checking the forward values of the traced ops, and
// small helpers shared by the op tests. Everything here is deliberately naive loops over row-major
// Float64 arrays, written from the definitions rather than from the engine's code.

import assert from 'node:assert/strict';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import type { Graph, Tensor } from '../../src/engine/graph.js';
import { compile } from '../../src/engine/runtime.js';

/** Runs `fn` once through ONNX Runtime on `inputs` and returns its output. */
export async function forward(fn: (g: Graph, inputs: Record<string, Tensor>) => Tensor, inputs: Record<string, HostTensor>): Promise<HostTensor> {
  const compiled = compile((g, t) => ({ y: fn(g, t) }), { params: 'inputs' });
  try {
    return (await compiled.run(inputs)).y!;
  } finally {
    await compiled.dispose();
  }
}

export function assertClose(actual: HostTensor, expectedShape: readonly number[], expected: ArrayLike<number>, tolerance = 1e-4, what = 'value'): void {
  assert.deepEqual(actual.shape, [...expectedShape], `${what}: shape`);
  assert.equal(actual.data.length, expected.length, `${what}: element count`);
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual.data[i]);
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e)), `${what}: element ${i} is ${a}, expected ${e}`);
  }
}

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i]!;
  }
  return out;
}

/** Maps every row-major index of `shape` to its coordinates. */
export function forEachIndex(shape: readonly number[], body: (coords: number[], flat: number) => void): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const coords = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    body(coords, flat);
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++coords[i]! < shape[i]!) break;
      coords[i] = 0;
    }
  }
}

type Pair = [number, number];

export interface ConvRefOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** y[n, o, i, j] = b[o] + sum over c in o's group, p, q of w[o, c, p, q] * x[n, g*cpg + c, i*s - pad + p*d, j*s - pad + q*d]. */
export function conv2dRef(x: HostTensor, w: HostTensor, b: HostTensor | undefined, { stride = [1, 1], padding = [0, 0], dilation = [1, 1], groups = 1 }: ConvRefOptions): { shape: number[]; data: Float64Array } {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [cout, cpg, kh, kw] = w.shape as [number, number, number, number];
  const ho = Math.floor((h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
  const wo = Math.floor((wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
  const coutPerGroup = cout / groups;
  assert.equal(c, cpg * groups);
  const out = new Float64Array(n * cout * ho * wo);
  const X = x.data as Float32Array;
  const W = w.data as Float32Array;
  for (let b0 = 0; b0 < n; b0++) {
    for (let o = 0; o < cout; o++) {
      const group = Math.floor(o / coutPerGroup);
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          let acc = b ? (b.data as Float32Array)[o]! : 0;
          for (let ci = 0; ci < cpg; ci++) {
            const channel = group * cpg + ci;
            for (let p = 0; p < kh; p++) {
              const row = i * stride[0] - padding[0] + p * dilation[0];
              if (row < 0 || row >= h) continue;
              for (let q = 0; q < kw; q++) {
                const col = j * stride[1] - padding[1] + q * dilation[1];
                if (col < 0 || col >= wd) continue;
                acc += W[((o * cpg + ci) * kh + p) * kw + q]! * X[((b0 * c + channel) * h + row) * wd + col]!;
              }
            }
          }
          out[((b0 * cout + o) * ho + i) * wo + j] = acc;
        }
      }
    }
  }
  return { shape: [n, cout, ho, wo], data: out };
}

/**
 * The transposed convolution by scattering: every input pixel x[n, c, i, j] adds w[c, o, p, q] times
 * itself to y[n, g*opg + o, i*s - pad + p*d, j*s - pad + q*d]; output padding extends the bottom/right.
 */
export function convTranspose2dRef(
  x: HostTensor, w: HostTensor, b: HostTensor | undefined,
  { stride = [1, 1], padding = [0, 0], dilation = [1, 1], groups = 1, outputPadding = [0, 0] }: ConvRefOptions & { outputPadding?: Pair },
): { shape: number[]; data: Float64Array } {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [cin, opg, kh, kw] = w.shape as [number, number, number, number];
  assert.equal(c, cin);
  const cout = opg * groups;
  const cinPerGroup = c / groups;
  const ho = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 - 2 * padding[0] + outputPadding[0];
  const wo = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 - 2 * padding[1] + outputPadding[1];
  const out = new Float64Array(n * cout * ho * wo);
  const X = x.data as Float32Array;
  const W = w.data as Float32Array;
  for (let b0 = 0; b0 < n; b0++) {
    for (let ci = 0; ci < c; ci++) {
      const group = Math.floor(ci / cinPerGroup);
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < wd; j++) {
          const v = X[((b0 * c + ci) * h + i) * wd + j]!;
          for (let o = 0; o < opg; o++) {
            const channel = group * opg + o;
            for (let p = 0; p < kh; p++) {
              const row = i * stride[0] - padding[0] + p * dilation[0];
              if (row < 0 || row >= ho) continue;
              for (let q = 0; q < kw; q++) {
                const col = j * stride[1] - padding[1] + q * dilation[1];
                if (col < 0 || col >= wo) continue;
                out[((b0 * cout + channel) * ho + row) * wo + col] += v * W[((ci * opg + o) * kh + p) * kw + q]!;
              }
            }
          }
        }
      }
    }
  }
  if (b) forEachIndex([n, cout, ho, wo], ([, o], flat) => (out[flat] += (b.data as Float32Array)[o!]!));
  return { shape: [n, cout, ho, wo], data: out };
}

/** Average pooling where padded positions count as zeros in the window (count_include_pad). */
export function avgPool2dRef(x: HostTensor, kernel: Pair, stride: Pair, padding: Pair): { shape: number[]; data: Float64Array } {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const ho = Math.floor((h + 2 * padding[0] - kernel[0]) / stride[0]) + 1;
  const wo = Math.floor((wd + 2 * padding[1] - kernel[1]) / stride[1]) + 1;
  const out = new Float64Array(n * c * ho * wo);
  const X = x.data as Float32Array;
  forEachIndex([n, c, ho, wo], ([b0, ch, i, j], flat) => {
    let acc = 0;
    for (let p = 0; p < kernel[0]; p++) {
      for (let q = 0; q < kernel[1]; q++) {
        const row = i! * stride[0] - padding[0] + p;
        const col = j! * stride[1] - padding[1] + q;
        if (row >= 0 && row < h && col >= 0 && col < wd) acc += X[((b0! * c + ch!) * h + row) * wd + col]!;
      }
    }
    out[flat] = acc / (kernel[0] * kernel[1]);
  });
  return { shape: [n, c, ho, wo], data: out };
}

export function upsampleNearestRef(x: HostTensor, scale: number): { shape: number[]; data: Float64Array } {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const shape = [n, c, h * scale, wd * scale];
  const out = new Float64Array(n * c * h * scale * wd * scale);
  forEachIndex(shape, ([b0, ch, i, j], flat) => (out[flat] = (x.data as Float32Array)[((b0! * c + ch!) * h + Math.floor(i! / scale)) * wd + Math.floor(j! / scale)]!));
  return { shape, data: out };
}

/** Softmax along `axis` by explicit loops over the other coordinates. */
export function softmaxRef(x: HostTensor, axis: number): Float64Array {
  const shape = x.shape;
  const st = strides(shape);
  const out = new Float64Array(x.data.length);
  const X = x.data as Float32Array;
  forEachIndex(shape, (coords, flat) => {
    if (coords[axis] !== 0) return;
    let maxValue = -Infinity;
    for (let k = 0; k < shape[axis]!; k++) maxValue = Math.max(maxValue, X[flat + k * st[axis]!]!);
    let total = 0;
    for (let k = 0; k < shape[axis]!; k++) total += Math.exp(X[flat + k * st[axis]!]! - maxValue);
    for (let k = 0; k < shape[axis]!; k++) out[flat + k * st[axis]!] = Math.exp(X[flat + k * st[axis]!]! - maxValue) / total;
  });
  return out;
}

/** Group norm of an [n, c, ...] tensor: statistics per (sample, group of c/groups channels) with biased variance. */
export function groupNormRef(x: HostTensor, groups: number, weight: HostTensor | undefined, bias: HostTensor | undefined, eps: number): Float64Array {
  const [n, c] = x.shape as [number, number];
  const spatial = x.data.length / (n * c);
  const perGroup = (c / groups) * spatial;
  const X = x.data as Float32Array;
  const out = new Float64Array(X.length);
  for (let b0 = 0; b0 < n; b0++) {
    for (let g = 0; g < groups; g++) {
      const start = (b0 * groups + g) * perGroup;
      let m = 0;
      for (let k = 0; k < perGroup; k++) m += X[start + k]!;
      m /= perGroup;
      let v = 0;
      for (let k = 0; k < perGroup; k++) v += (X[start + k]! - m) ** 2;
      v /= perGroup;
      for (let k = 0; k < perGroup; k++) {
        const channel = Math.floor((start + k) / spatial) % c;
        const scale = weight ? (weight.data as Float32Array)[channel]! : 1;
        const shift = bias ? (bias.data as Float32Array)[channel]! : 0;
        out[start + k] = ((X[start + k]! - m) / Math.sqrt(v + eps)) * scale + shift;
      }
    }
  }
  return out;
}

/** softmax(q kᵀ / sqrt(d)) v for [batch, tokens, width] tensors. */
export function attentionRef(q: HostTensor, k: HostTensor, v: HostTensor): { shape: number[]; data: Float64Array } {
  const [batch, tq, d] = q.shape as [number, number, number];
  const tk = k.shape[1]!;
  const dv = v.shape[2]!;
  const Q = q.data as Float32Array;
  const K = k.data as Float32Array;
  const V = v.data as Float32Array;
  const out = new Float64Array(batch * tq * dv);
  for (let b0 = 0; b0 < batch; b0++) {
    for (let i = 0; i < tq; i++) {
      const scores = new Float64Array(tk);
      for (let j = 0; j < tk; j++) {
        let s = 0;
        for (let e = 0; e < d; e++) s += Q[(b0 * tq + i) * d + e]! * K[(b0 * tk + j) * d + e]!;
        scores[j] = s / Math.sqrt(d);
      }
      const top = Math.max(...scores);
      let total = 0;
      for (let j = 0; j < tk; j++) total += scores[j] = Math.exp(scores[j]! - top);
      for (let e = 0; e < dv; e++) {
        let acc = 0;
        for (let j = 0; j < tk; j++) acc += (scores[j]! / total) * V[(b0 * tk + j) * dv + e]!;
        out[(b0 * tq + i) * dv + e] = acc;
      }
    }
  }
  return { shape: [batch, tq, dv], data: out };
}

/** Python-style strided slicing: per axis [start, end, step] with normalised non-negative start/end. */
export function sliceRef(x: HostTensor, ranges: [number, number, number][]): { shape: number[]; data: Float64Array } {
  const shape = ranges.map(([s, e, st]) => Math.max(0, Math.ceil((e - s) / st)));
  const inStrides = strides(x.shape);
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  forEachIndex(shape, (coords, flat) => {
    let src = 0;
    coords.forEach((c, i) => (src += (ranges[i]![0] + c * ranges[i]![2]) * inStrides[i]!));
    out[flat] = Number(x.data[src]);
  });
  return { shape, data: out };
}

/** Moves every element at least `margin` away from each of `points` (for ops with kinks). */
export function awayFrom(t: HostTensor, points: number[], margin: number): HostTensor {
  const data = (t.data as Float32Array).map((v) => {
    let out = v;
    for (const p of points) if (Math.abs(out - p) < margin) out = out >= p ? p + margin + (out - p) : p - margin + (out - p);
    return out;
  });
  return { ...t, shape: [...t.shape], data } as HostTensor;
}

/** Applies `f` to every element. */
export function mapTensor(t: HostTensor, f: (v: number, i: number) => number): HostTensor {
  return { ...t, shape: [...t.shape], data: (t.data as Float32Array).map(f) } as HostTensor;
}

export function int64Tensor(shape: number[], values: number[]): HostTensor {
  return { dtype: 'int64', shape, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}
