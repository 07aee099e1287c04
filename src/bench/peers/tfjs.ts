// Peer of `hasten bench engine`: the reference workload of ../engine-workload.ts written with
// @tensorflow/tfjs (a devDependency, loaded lazily). Forward on the wasm backend; training on wasm
// if it can, else on the pure-JS cpu backend (tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter).
//
// tfjs is NHWC with HWIO filters: activations and conv weights are the engine's NCHW / OIHW
// transposed; every other parameter keeps its shape. The network is the engine's op for op:
// explicit symmetric padding (k-1)/2 (TF 'same' pads a stride-2 conv asymmetrically), group norm
// over contiguous channel groups with biased variance and eps 1e-5, SiLU as x·sigmoid(x),
// attention with q scaled by 1/sqrt(d) before q·kᵀ and the engine's q/k/v channel split, nearest
// 2x upsampling, channel concat [upsampled, skip], and an MSE loss.

import { WORKLOAD, workloadForwardFlops, workloadParamShapes, workloadTrainFlops } from '../engine-workload.js';
import { cpuMsSince, formatMs as fmt, gflops, median, timeRuns } from '../timing.js';
import { RngStream } from '../../engine/rng.js';

type Tf = typeof import('@tensorflow/tfjs');
type TfTensor = import('@tensorflow/tfjs').Tensor;
type TfTensor4D = import('@tensorflow/tfjs').Tensor4D;
type TfVariable = import('@tensorflow/tfjs').Variable;

export interface PeerOptions {
  forwardRepeats?: number;
  trainRepeats?: number;
  /** Seconds this peer may spend in all (loading, warm-ups, repeats); default 120. */
  timeBudgetS?: number;
}

export interface PeerResult {
  forward_gflops: number;
  train_gflops: number | null;
  notes: string[];
}

/** Engine-layout (OIHW conv weights) host parameters. */
export type HostParams = Map<string, Float32Array>;

let loaded: Promise<Tf> | undefined;

async function loadTf(): Promise<Tf> {
  loaded ??= (async () => {
    try {
      const tf = await import('@tensorflow/tfjs');
      await import('@tensorflow/tfjs-backend-wasm'); // registers the 'wasm' backend
      tf.enableProdMode(); // no debug checks, no console banners (stdout stays clean for --json)
      return tf;
    } catch (error) {
      loaded = undefined;
      throw new Error(
        `the tfjs peer needs the devDependencies @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm (install them with \`npm install --include=dev\`): ${(error as Error).message}`,
      );
    }
  })();
  return loaded;
}

async function useBackend(tf: Tf, name: 'wasm' | 'cpu'): Promise<void> {
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name) throw new Error(`tfjs: backend '${name}' did not initialise`);
  await tf.ready();
}

// ---------------------------------------------------------------------------------------------
// Deterministic host data, shared layout with the engine (so outputs can be compared).

function normals(count: number, seed: number, scale = 1): Float32Array {
  const out = RngStream.fromSeed(seed, 'peer workload').normal({ start: 0, count: 1 }, count);
  for (let i = 0; i < count; i++) out[i] *= scale;
  return out;
}

/** Random parameters in the engine's layout: conv weights N(0, 1/fan_in), biases 0, norms 1 and 0. */
export function randomWorkloadParams(seed = 1): HostParams {
  const params: HostParams = new Map();
  let i = 0;
  for (const [name, shape] of workloadParamShapes()) {
    const count = shape.reduce((a, b) => a * b, 1);
    if (name.endsWith('.weight') && shape.length === 4) params.set(name, normals(count, seed * 1000 + i, 1 / Math.sqrt(shape[1]! * shape[2]! * shape[3]!)));
    else params.set(name, new Float32Array(count).fill(name.endsWith('.weight') ? 1 : 0));
    i++;
  }
  return params;
}

export const randomNchw = (batch: number, seed: number): Float32Array =>
  normals(batch * WORKLOAD.imageChannels * WORKLOAD.resolution ** 2, seed);

// ---------------------------------------------------------------------------------------------
// The network.

type TfParams = Map<string, TfVariable>;

function toTfParams(tf: Tf, host: HostParams): TfParams {
  const params: TfParams = new Map();
  for (const [name, shape] of workloadParamShapes()) {
    const data = host.get(name);
    if (!data || data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`tfjs peer: parameter '${name}' missing or of the wrong size`);
    const value = tf.tidy(() => (shape.length === 4 ? tf.transpose(tf.tensor4d(data, shape as [number, number, number, number]), [2, 3, 1, 0]) : tf.tensor(data, shape)));
    params.set(name, tf.variable(value, true, `hasten_${name}_${Math.random().toString(36).slice(2)}`));
    value.dispose();
  }
  return params;
}

function disposeParams(params: TfParams): void {
  for (const v of params.values()) v.dispose();
  params.clear();
}

/** The reference workload on NHWC input x; returns NHWC [batch, 32, 32, 3]. Call inside tf.tidy. */
function forward(tf: Tf, P: TfParams, x: TfTensor4D): TfTensor4D {
  const p = (name: string): TfVariable => {
    const v = P.get(name);
    if (!v) throw new Error(`tfjs peer: no parameter '${name}'`);
    return v;
  };
  const conv = (name: string, h: TfTensor4D, stride = 1): TfTensor4D => {
    const filter = p(`${name}.weight`) as unknown as TfTensor4D;
    const pad = (filter.shape[0] - 1) / 2;
    return tf.fused.conv2d({ x: h, filter, strides: stride, pad: [[0, 0], [pad, pad], [pad, pad], [0, 0]], bias: p(`${name}.bias`) });
  };
  const groupNorm = (name: string, h: TfTensor4D): TfTensor4D => {
    const [n, hh, ww, c] = h.shape;
    const g = WORKLOAD.groups;
    const grouped = tf.reshape(h, [n, hh * ww, g, c / g]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true);
    const normalized = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, 1e-5))), [n, hh, ww, c]) as TfTensor4D;
    return tf.add(tf.mul(normalized, p(`${name}.weight`)), p(`${name}.bias`));
  };
  const silu = (h: TfTensor4D): TfTensor4D => tf.mul(h, tf.sigmoid(h));
  const norm = (name: string, h: TfTensor4D): TfTensor4D => silu(groupNorm(name, h));
  const resBlock = (name: string, h: TfTensor4D, withSkipConv: boolean): TfTensor4D => {
    const inner = conv(`${name}.conv2`, norm(`${name}.norm2`, conv(`${name}.conv1`, norm(`${name}.norm1`, h))));
    return tf.add(inner, withSkipConv ? conv(`${name}.skip`, h) : h);
  };
  const selfAttention = (h: TfTensor4D): TfTensor4D => {
    const [n, hh, ww, c] = h.shape;
    const heads = WORKLOAD.heads;
    const d = c / heads;
    const tokens = hh * ww;
    const qkv = conv('attn.qkv', groupNorm('attn.norm', h)); // channels ordered (q|k|v, head, d) as in the engine
    const split = tf.transpose(tf.reshape(qkv, [n, tokens, 3, heads, d]), [2, 0, 3, 1, 4]); // [3, n, heads, tokens, d]
    const [q, k, v] = tf.split(split, 3, 0).map((t) => tf.reshape(t, [n, heads, tokens, d]));
    const scores = tf.matMul(tf.mul(q!, 1 / Math.sqrt(d)), k!, false, true);
    const attended = tf.matMul(tf.softmax(scores, -1), v!); // [n, heads, tokens, d]
    const back = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [n, hh, ww, c]) as TfTensor4D;
    return tf.add(h, conv('attn.proj', back));
  };
  const upsample = (h: TfTensor4D): TfTensor4D => tf.image.resizeNearestNeighbor(h, [2 * h.shape[1], 2 * h.shape[2]]);

  const h0 = conv('conv_in', x);
  const s1 = resBlock('res1', h0, false);
  const s2 = resBlock('res2', conv('down1', s1, 2), false);
  const h3 = selfAttention(resBlock('res3', conv('down2', s2, 2), false));
  const u1 = resBlock('up1', tf.concat([upsample(h3), s2], 3), true);
  const u2 = resBlock('up2', tf.concat([upsample(u1), s1], 3), true);
  return conv('conv_out', norm('norm_out', u2));
}

function nhwcInput(tf: Tf, nchw: Float32Array, batch: number): TfTensor4D {
  const r = WORKLOAD.resolution;
  return tf.tidy(() => tf.transpose(tf.tensor4d(nchw, [batch, WORKLOAD.imageChannels, r, r]), [0, 2, 3, 1]));
}

/** One forward pass on engine-layout data (x NCHW); returns the output NCHW. For correctness checks. */
export async function forwardNchw(params: HostParams, x: Float32Array, batch: number, backend: 'wasm' | 'cpu' = 'wasm'): Promise<Float32Array> {
  const tf = await loadTf();
  await useBackend(tf, backend);
  const P = toTfParams(tf, params);
  const input = nhwcInput(tf, x, batch);
  try {
    const y = tf.tidy(() => tf.transpose(forward(tf, P, input), [0, 3, 1, 2]));
    const data = (await y.data()) as Float32Array;
    y.dispose();
    return data;
  } finally {
    input.dispose();
    disposeParams(P);
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement.

/** Total time, and CPU time over wall time: these peers compute on one thread, so on an idle machine the ratio is about 1; well below 1, other processes took the cores and the figures are low. */
export function busyNote(start: number, cpuStart: NodeJS.CpuUsage): string {
  const wallMs = performance.now() - start;
  const ratio = cpuMsSince(cpuStart) / wallMs;
  return `total ${fmt(wallMs)}, CPU time ${(ratio * 100).toFixed(0)}% of wall time${ratio < 0.8 ? ' (other processes competed for the cores: figures are low)' : ''}`;
}

export async function measure(options: PeerOptions = {}): Promise<PeerResult> {
  const { forwardRepeats = 5, trainRepeats = 3, timeBudgetS = 120 } = options;
  const start = performance.now();
  const deadline = start + timeBudgetS * 1000;
  const cpuStart = process.cpuUsage();
  const tf = await loadTf();
  const notes: string[] = [`@tensorflow/tfjs ${tf.version.tfjs}`];
  const host = randomWorkloadParams(1);
  const batch = WORKLOAD.batch;
  const r = WORKLOAD.resolution;

  // Forward: wasm backend, batch 16, median of repeats after one warm-up.
  await useBackend(tf, 'wasm');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  notes.push(`forward: wasm backend (${wasm.getThreadsCount()} thread: tfjs-backend-wasm does not use threads in Node), batch ${batch}`);
  let forwardMs: number;
  {
    const P = toTfParams(tf, host);
    const x = nhwcInput(tf, randomNchw(batch, 2), batch);
    const run = async (): Promise<TfTensor> => {
      const y = tf.tidy(() => forward(tf, P, x));
      await y.data();
      return y;
    };
    const tensorsBefore = tf.memory().numTensors;
    const check = await run(); // warm-up, and the correctness check
    const [n, h, w, c] = check.shape;
    const values = (await check.data()) as Float32Array;
    check.dispose();
    if (n !== batch || c !== WORKLOAD.imageChannels || h !== r || w !== r) throw new Error(`tfjs peer: output shape ${check.shape} (NHWC), expected [${batch}, ${r}, ${r}, ${WORKLOAD.imageChannels}]`);
    if (!values.every(Number.isFinite)) throw new Error('tfjs peer: forward output is not finite');
    const times = await timeRuns(async () => (await run()).dispose(), forwardRepeats, start + 0.3 * (deadline - start));
    if (tf.memory().numTensors !== tensorsBefore) notes.push(`warning: forward leaked ${tf.memory().numTensors - tensorsBefore} tensors`);
    x.dispose();
    disposeParams(P);
    forwardMs = median(times);
    notes.push(`forward: output [${batch}, ${WORKLOAD.imageChannels}, ${r}, ${r}] finite; median ${fmt(forwardMs)} over ${times.length} runs`);
  }
  const forward_gflops = gflops(workloadForwardFlops(batch), forwardMs);

  // Training: forward + backward + SGD update of every parameter, as optimizer.minimize does it.
  const trainStep = (P: TfParams, x: TfTensor4D, target: TfTensor4D, resources: { dispose(): void }[]): (() => Promise<number>) => {
    const optimizer = tf.train.sgd(1e-3);
    resources.push(optimizer);
    const vars = [...P.values()];
    return async () => {
      const loss = optimizer.minimize(() => tf.mean(tf.squaredDifference(forward(tf, P, x), target)) as import('@tensorflow/tfjs').Scalar, true, vars);
      if (!loss) throw new Error('tfjs peer: minimize returned no loss');
      const value = (await loss.data())[0]!;
      loss.dispose();
      return value;
    };
  };
  const trainOn = async (backend: 'wasm' | 'cpu'): Promise<number | null> => {
    await useBackend(tf, backend);
    const tensorsBefore = tf.memory().numTensors;
    const resources: { dispose(): void }[] = [];
    const setup = (b: number): (() => Promise<number>) => {
      for (const t of resources.splice(0)) t.dispose();
      const P = toTfParams(tf, host);
      const x = nhwcInput(tf, randomNchw(b, 2), b);
      const target = nhwcInput(tf, randomNchw(b, 3), b);
      resources.push(x, target, { dispose: () => disposeParams(P) });
      return trainStep(P, x, target, resources);
    };
    try {
      // Probe at batch 1: a warm-up step, then a timed one; then the largest batch whose warm-up
      // and repeats fit in what is left of the budget.
      let b = 1;
      let step = setup(b);
      let t0 = performance.now();
      const loss = await step();
      const warmMs = performance.now() - t0;
      if (!Number.isFinite(loss)) throw new Error(`loss ${loss} is not finite`);
      if (performance.now() + warmMs > deadline) {
        notes.push(`train (${backend}): budget spent after one step at batch 1; reporting that step (${fmt(warmMs)}, loss ${loss.toFixed(4)}; tfjs compiles nothing, so a first step is representative)`);
        return gflops(workloadTrainFlops(1), warmMs);
      }
      t0 = performance.now();
      await step();
      let times = [performance.now() - t0];
      const perSample = times[0]!;
      const left = deadline - performance.now();
      const fit = [16, 8, 4, 2].find((cand) => cand <= batch && perSample * cand * (1 + Math.max(1, trainRepeats)) * 1.2 < left);
      if (fit) {
        b = fit;
        step = setup(b);
        await step();
        times = [];
      }
      let last = loss;
      times = await timeRuns(async () => void (last = await step()), trainRepeats, deadline, times);
      if (!Number.isFinite(last)) throw new Error(`loss ${last} is not finite after training steps`);
      const ms = median(times);
      notes.push(`train (${backend}): batch ${b}${b < batch ? ` (not ${batch}: time budget ${timeBudgetS} s)` : ''}, SGD, median ${fmt(ms)} over ${times.length} steps, loss finite`);
      return gflops(workloadTrainFlops(b), ms);
    } finally {
      for (const t of resources.splice(0)) t.dispose();
      const leaked = tf.memory().numTensors - tensorsBefore;
      if (leaked > 0) notes.push(`warning: training on ${backend} left ${leaked} tensors`);
    }
  };

  let train_gflops: number | null = null;
  try {
    // Checked up front: a training step that fails half-way through backprop strands tensors.
    const missing = ['Conv2DBackpropFilter', 'Conv2DBackpropInput'].filter((kernel) => !tf.getKernel(kernel, 'wasm'));
    if (missing.length > 0) throw new Error(`no ${missing.join(', ')} kernel for backend 'wasm'`);
    train_gflops = await trainOn('wasm');
  } catch (error) {
    notes.push(`train on wasm impossible: ${(error as Error).message.split('\n')[0]}; falling back to the cpu backend (pure JS, 1 thread)`);
    try {
      train_gflops = await trainOn('cpu');
    } catch (cpuError) {
      notes.push(`train on cpu failed: ${(cpuError as Error).message.split('\n')[0]}`);
    }
  }
  await useBackend(tf, 'wasm').catch(() => undefined);
  notes.push(busyNote(start, cpuStart));
  return { forward_gflops, train_gflops, notes };
}
