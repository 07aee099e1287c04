// Peer of `hasten bench engine`: the reference workload of ../engine-workload.ts written with
// @jax-js/jax (a devDependency, loaded lazily) on its wasm device, forward and training (grad).
//
// jax-js is NCHW with OIHW kernels like the engine, so parameters keep the engine's shapes
// exactly. The network is the engine's op for op: symmetric padding (k-1)/2, group norm over
// contiguous channel groups (nn.standardize: biased variance, eps 1e-5), SiLU, attention with q
// scaled by 1/sqrt(d) before q·kᵀ and the engine's q/k/v channel split, nearest 2x upsampling,
// channel concat [upsampled, skip], and an MSE loss.
//
// jax-js arrays are reference counted and every call consumes its array arguments: a value used
// twice is passed as `.ref` the first time. Each parameter is used exactly once in the network.

import { WORKLOAD, workloadForwardFlops, workloadParamShapes, workloadTrainFlops } from '../engine-workload.js';
import { formatMs as fmt, gflops, median, timeRuns } from '../timing.js';
import { type HostParams, type PeerOptions, type PeerResult, busyNote, randomNchw, randomWorkloadParams } from './tfjs.js';
import { sameShape } from '../../engine/host-tensor.js';

export type { HostParams, PeerOptions, PeerResult } from './tfjs.js';

type Jax = typeof import('@jax-js/jax');
type JArray = import('@jax-js/jax').Array;
type JParams = Record<string, JArray>;

let loaded: Promise<Jax> | undefined;

async function loadJax(): Promise<Jax> {
  loaded ??= (async () => {
    let jax: Jax;
    try {
      jax = await import('@jax-js/jax');
    } catch (error) {
      loaded = undefined;
      throw new Error(`the jax-js peer needs the devDependency @jax-js/jax (install it with \`npm install --include=dev\`): ${(error as Error).message}`);
    }
    // Node has no `navigator`: initialise the wasm device explicitly.
    const devices = await jax.init('wasm');
    if (!devices.includes('wasm')) throw new Error(`jax-js: the wasm device did not initialise (got ${devices.join(', ') || 'none'})`);
    jax.defaultDevice('wasm');
    return jax;
  })();
  return loaded;
}

function toJaxParams(jax: Jax, host: HostParams): JParams {
  const params: JParams = {};
  for (const [name, shape] of workloadParamShapes()) {
    const data = host.get(name);
    if (!data || data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`jax-js peer: parameter '${name}' missing or of the wrong size`);
    params[name] = jax.numpy.array(data).reshape(shape);
  }
  return params;
}

const nchw = (jax: Jax, data: Float32Array, batch: number): JArray =>
  jax.numpy.array(data).reshape([batch, WORKLOAD.imageChannels, WORKLOAD.resolution, WORKLOAD.resolution]);

/** The reference workload; consumes `p` (every entry once) and `x`. NCHW in, NCHW [batch, 3, 32, 32] out. */
function forward(jax: Jax, p: JParams, x: JArray): JArray {
  const { numpy: np, nn, lax } = jax;
  const take = (name: string): JArray => {
    const v = p[name];
    if (!v) throw new Error(`jax-js peer: no parameter '${name}'`);
    return v;
  };
  const conv = (name: string, h: JArray, stride = 1): JArray => {
    const w = take(`${name}.weight`);
    const pad = (w.shape[2]! - 1) / 2;
    const y = lax.convGeneralDilated(h, w, [stride, stride], [[pad, pad], [pad, pad]]);
    return y.add(take(`${name}.bias`).reshape([1, y.shape[1]!, 1, 1]));
  };
  const groupNorm = (name: string, h: JArray): JArray => {
    const [n, c, hh, ww] = h.shape as [number, number, number, number];
    const g = WORKLOAD.groups;
    const normalized = nn.standardize(h.reshape([n, g, (c / g) * hh * ww]), -1, { epsilon: 1e-5 }).reshape([n, c, hh, ww]);
    return normalized.mul(take(`${name}.weight`).reshape([1, c, 1, 1])).add(take(`${name}.bias`).reshape([1, c, 1, 1]));
  };
  const norm = (name: string, h: JArray): JArray => nn.silu(groupNorm(name, h));
  const resBlock = (name: string, h: JArray, withSkipConv: boolean): JArray => {
    const inner = conv(`${name}.conv2`, norm(`${name}.norm2`, conv(`${name}.conv1`, norm(`${name}.norm1`, h.ref))));
    return inner.add(withSkipConv ? conv(`${name}.skip`, h) : h);
  };
  const selfAttention = (h: JArray): JArray => {
    const [n, c, hh, ww] = h.shape as [number, number, number, number];
    const heads = WORKLOAD.heads;
    const d = c / heads;
    const tokens = hh * ww;
    const qkv = conv('attn.qkv', groupNorm('attn.norm', h.ref));
    // [n, 3c, h, w] -> [3, n, heads, tokens, c/heads], as in the engine
    const split = qkv.reshape([n, 3, heads, d, tokens]).transpose([1, 0, 2, 4, 3]);
    const [q, k, v] = np.split(split, 3, 0).map((t) => t.reshape([n, heads, tokens, d]));
    const scores = np.matmul(q!.mul(1 / Math.sqrt(d)), k!.transpose([0, 1, 3, 2]));
    const attended = np.matmul(nn.softmax(scores, -1), v!); // [n, heads, tokens, d]
    const back = attended.transpose([0, 1, 3, 2]).reshape([n, c, hh, ww]);
    return h.add(conv('attn.proj', back));
  };
  const upsample = (h: JArray): JArray => np.repeat(np.repeat(h, 2, 2), 2, 3);

  const h0 = conv('conv_in', x);
  const s1 = resBlock('res1', h0, false);
  const s2 = resBlock('res2', conv('down1', s1.ref, 2), false);
  const h3 = selfAttention(resBlock('res3', conv('down2', s2.ref, 2), false));
  const u1 = resBlock('up1', np.concatenate([upsample(h3), s2], 1), true);
  const u2 = resBlock('up2', np.concatenate([upsample(u1), s1], 1), true);
  return conv('conv_out', norm('norm_out', u2));
}

/** One forward pass on engine-layout data (x NCHW); returns the output NCHW. For correctness checks. */
export async function forwardNchw(params: HostParams, x: Float32Array, batch: number): Promise<Float32Array> {
  const jax = await loadJax();
  return (await forward(jax, toJaxParams(jax, params), nchw(jax, x, batch)).data()) as Float32Array;
}

export async function measure(options: PeerOptions = {}): Promise<PeerResult> {
  const { forwardRepeats = 5, trainRepeats = 3, timeBudgetS = 120 } = options;
  const start = performance.now();
  const deadline = start + timeBudgetS * 1000;
  const cpuStart = process.cpuUsage();
  const jax = await loadJax();
  const { numpy: np, tree } = jax;
  const notes: string[] = ['@jax-js/jax on the wasm device (1 thread: its worker pool needs a global Worker, which Node lacks), eager ops (faster than jit() here)'];
  const host = randomWorkloadParams(1);
  const batch = WORKLOAD.batch;
  const r = WORKLOAD.resolution;

  // Forward at batch 16: one warm-up (kernels compile per shape), then the median of repeats.
  let forwardMs: number;
  {
    const params = toJaxParams(jax, host);
    const x = nchw(jax, randomNchw(batch, 2), batch);
    const t0 = performance.now();
    const y = forward(jax, tree.ref(params), x.ref);
    const shape = [...y.shape];
    const values = (await y.data()) as Float32Array;
    const warmMs = performance.now() - t0;
    if (!sameShape(shape, [batch, WORKLOAD.imageChannels, r, r])) throw new Error(`jax-js peer: output shape [${shape}], expected [${batch}, ${WORKLOAD.imageChannels}, ${r}, ${r}]`);
    if (!values.every(Number.isFinite)) throw new Error('jax-js peer: forward output is not finite');
    const times = await timeRuns(async () => void (await forward(jax, tree.ref(params), x.ref).data()), forwardRepeats, start + 0.4 * (deadline - start));
    tree.dispose(params);
    x.dispose();
    forwardMs = median(times);
    notes.push(`forward: batch ${batch}, output [${shape}] finite; warm-up ${fmt(warmMs)}, median ${fmt(forwardMs)} over ${times.length} runs`);
  }
  const forward_gflops = gflops(workloadForwardFlops(batch), forwardMs);

  // Training: value and grad of the MSE loss, then an SGD update of every parameter.
  let train_gflops: number | null = null;
  const lossOf = (p: JParams, x: JArray, target: JArray): JArray => np.square(forward(jax, p, x).sub(target)).mean();
  const valueAndGrad = jax.valueAndGrad(lossOf);
  let state: { params: JParams; x: JArray; target: JArray } | undefined;
  const setup = (b: number): void => {
    if (state) tree.dispose([state.params, state.x, state.target]);
    state = { params: toJaxParams(jax, host), x: nchw(jax, randomNchw(b, 2), b), target: nchw(jax, randomNchw(b, 3), b) };
  };
  const step = async (): Promise<number> => {
    const s = state!;
    const [loss, grads] = valueAndGrad(tree.ref(s.params), s.x.ref, s.target.ref);
    s.params = tree.map((w: JArray, g: JArray) => w.sub(g.mul(1e-3)), s.params, grads as JParams) as JParams;
    await jax.blockUntilReady(s.params);
    return (await loss.data())[0]!;
  };
  try {
    // Probe at batch 1: a warm-up step (compiles), then a timed one; then the largest batch whose
    // warm-up and repeats fit in what is left of the budget.
    let b = 1;
    setup(b);
    let t0 = performance.now();
    let last = await step();
    const warmMs = performance.now() - t0;
    if (!Number.isFinite(last)) throw new Error(`loss ${last} is not finite`);
    // The warm-up step compiles kernels (most of its time), so one timed step follows it even
    // when that passes the budget: a steady step takes no longer than the warm-up did.
    t0 = performance.now();
    last = await step();
    let times = [performance.now() - t0];
    if (performance.now() > deadline) {
      notes.push(`train: budget spent after the warm-up step and one timed step at batch 1 (warm-up ${fmt(warmMs)})`);
    } else {
      const perSample = times[0]!;
      const compileMs = Math.max(0, warmMs - perSample);
      const left = deadline - performance.now();
      const fit = [16, 8, 4, 2].find((cand) => cand <= batch && compileMs + perSample * cand * (1 + Math.max(1, trainRepeats)) * 1.2 < left);
      if (fit) {
        b = fit;
        setup(b);
        last = await step();
        times = [];
      }
      times = await timeRuns(async () => void (last = await step()), trainRepeats, deadline, times);
    }
    if (!Number.isFinite(last)) throw new Error(`loss ${last} is not finite after training steps`);
    const ms = median(times);
    notes.push(`train: valueAndGrad + SGD, batch ${b}${b < batch ? ` (not ${batch}: time budget ${timeBudgetS} s)` : ''}, median ${fmt(ms)} over ${times.length} steps, loss finite`);
    train_gflops = gflops(workloadTrainFlops(b), ms);
  } catch (error) {
    notes.push(`train failed: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    if (state) tree.dispose([state.params, state.x, state.target]);
  }
  notes.push(busyNote(start, cpuStart));
  return { forward_gflops, train_gflops, notes };
}
