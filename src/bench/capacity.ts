// `hasten bench capacity`: what A-SDM's capacity-without-cost layers cost on this machine, before any
// training. (1) The conditional convolution's two execution forms against a plain convolution of
// the same shape, at several batch sizes: forward time, FLOPs and the largest difference between
// the forms. (2) Where attention matters: on networks whose attention runs over >= 256 tokens,
// attention's share of the FLOPs and of the forward time, and global-regional attention against
// full attention, for the attention layers alone and for the whole network. (3) One attention layer
// at the DiT's size, full and GRI, with ONNX Runtime's per-op trace summed by kind of work: where
// the time of each goes.
//
// Times are medians of interleaved runs (every variant once per round), so load from other
// processes falls on all variants alike; ratios between variants are the figures to quote. Each
// time is given as wall clock and as this process's CPU time (the work, without the waits for a
// core that a loaded machine adds).

import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Graph } from '../engine/graph.js';
import { type HostTensor, type ParamTree, numel } from '../engine/host-tensor.js';
import { type CompiledFunction, type TraceFn, compile, traceFunction } from '../engine/runtime.js';
import { type CondConvForm, condConv } from '../models/cond-conv.js';
import { flopsByScope } from '../models/flops.js';
import { griAttention } from '../models/gri-attention.js';
import { initParams } from '../models/init.js';
import { type DiffusionNet, netTraceFn } from '../models/network.js';
import { conv } from '../models/layers.js';
import { ModuleContext } from '../models/module-context.js';
import { createModel } from '../models/registry.js';
import { selfAttention } from '../models/transformer.js';
import { randomTensor } from './engine-workload.js';
import { type OpProfile, type TraceEvent, summarizeTrace } from './op-profile.js';
import { type InterleavedTimes, timeInterleaved } from './timing.js';

export interface CapacityBenchSettings {
  channels: number; // conditional convolution: input and output channels
  side: number; // conditional convolution: side of the feature map
  experts: number; // conditional convolution: experts
  batches: number[]; // conditional convolution: batch sizes timed
  networkBatch: number; // batch of the network forward passes
  window: number; // GRI: side of the regional window, in tokens
  pool: number; // GRI: side of the cell pooled into one global token
  networks: Record<string, Record<string, unknown>>; // name -> model config of each network whose attention is measured
  layer: { heads: number; headWidth: number; side: number }; // the profiled attention layer, at networkBatch
  repeats: number; // interleaved timed rounds after one warm-up
  threads?: number;
}

export const CAPACITY_BENCH_DEFAULTS: Readonly<CapacityBenchSettings> = {
  channels: 64, // the shipped U-Net's deeper levels
  side: 16,
  experts: 4,
  batches: [1, 16, 64], // the three batch sizes
  networkBatch: 16, // the README's grid
  window: 4,
  pool: 4,
  networks: {
    // Attention over >= 256 tokens, where GRI can win (at the shipped U-Net's 8x8 it cannot):
    'unet-64px-attn16': { arch: 'unet', resolution: 64, baseChannels: 32, channelMultipliers: [1, 2, 2, 2], attentionResolutions: [16], numClasses: 8 },
    'dit-32px-patch2': { arch: 'dit', resolution: 32, patchSize: 2, width: 128, depth: 6, heads: 4, numClasses: 8 },
  },
  layer: { heads: 4, headWidth: 32, side: 16 }, // one layer of dit-32px-patch2
  repeats: 7,
};

export interface CondConvRow {
  batch: number;
  form: 'conv' | CondConvForm; // 'conv': the plain convolution the CondConv replaces
  ms: number; // median forward time
  cpu_ms: number; // median CPU time of the forward (all threads)
  gflops: number; // per forward at this batch, routing and mixing included
  ratio_to_conv: number; // time over the plain convolution's at this batch
  cpu_ratio_to_conv: number; // CPU time over the plain convolution's
  max_abs_diff?: number; // the other form's output minus this one's (CondConv forms only)
}

export interface AttentionRow {
  network: string;
  tokens: number; // tokens per attention layer (the largest)
  attention: 'full' | 'gri';
  attention_gflops_share: number; // of the network's forward FLOPs, self-attention units included whole
  network_ms: number; // median forward time of the network at networkBatch
  attention_ms: number; // median time of the network's self-attention units alone (qkv projection, heads' attention, output projection, at its shapes)
  attention_speedup: number; // full attention's attention_ms over this row's
  network_speedup: number; // full attention's network_ms over this row's
  network_cpu_ms: number; // the same in CPU time (all threads)
  attention_cpu_ms: number;
  attention_cpu_speedup: number;
  network_cpu_speedup: number;
}

export interface LayerProfileRow {
  attention: 'full' | 'gri';
  ms: number; // median time of one run of the layer (interleaved with the other attention)
  cpu_ms: number; // median CPU time of one run (all threads)
  kernels_ms: number; // per run, in ONNX Runtime's kernels (its trace; per node the median over the timed runs)
  kinds: { kind: string; ms: number; ops: Record<string, number> }[]; // kernel time per run by kind of work, with its largest ONNX ops
}

export interface CapacityBenchResult {
  settings: CapacityBenchSettings;
  cond_conv: CondConvRow[];
  attention: AttentionRow[];
  layer_profile: LayerProfileRow[];
}

/** Random values for every parameter a traced graph declares, so nothing is trivially zero. */
function randomParamsOf(graph: Graph, seed: number): ParamTree {
  return new Map([...graph.params].map(([name, t], i) => [name, randomTensor([...t.shape], seed + i, 0.1)]));
}

async function condConvRows(settings: CapacityBenchSettings): Promise<CondConvRow[]> {
  const { channels, side, experts } = settings;
  const rows: CondConvRow[] = [];
  for (const batch of settings.batches) {
    const specs = { x: { shape: [batch, channels, side, side], dtype: 'float32' as const } };
    const x = randomTensor(specs.x.shape, 1);
    const fns: Record<CondConvRow['form'], TraceFn> = {
      conv: (g, t) => ({ y: conv(new ModuleContext(g), 'c', t.x!, channels, 3) }),
      kernels: (g, t) => ({ y: condConv(new ModuleContext(g), 'c', t.x!, channels, 3, { experts, form: 'kernels' }) }),
      outputs: (g, t) => ({ y: condConv(new ModuleContext(g), 'c', t.x!, channels, 3, { experts, form: 'outputs' }) }),
    };
    const compiled: Record<string, CompiledFunction> = {};
    const outputs: Record<string, HostTensor> = {};
    const flops: Record<string, number> = {};
    let condParams: ParamTree | undefined; // both CondConv forms run on the same parameters
    try {
      for (const [form, fn] of Object.entries(fns)) {
        const traced = traceFunction(fn, specs);
        flops[form] = flopsByScope(traced.graph, Object.values(traced.outputs)).total;
        const params = form === 'conv' ? randomParamsOf(traced.graph, 2) : (condParams ??= randomParamsOf(traced.graph, 2));
        compiled[form] = compile(fn, { params, threads: settings.threads });
        outputs[form] = (await compiled[form]!.run({ x })).y!;
      }
      const { wall: ms, cpu } = await timeInterleaved(Object.fromEntries(Object.entries(compiled).map(([form, c]) => [form, () => c.run({ x })])), settings.repeats);
      let diff = 0;
      outputs.kernels!.data.forEach((v, i) => (diff = Math.max(diff, Math.abs(Number(v) - Number(outputs.outputs!.data[i])))));
      for (const form of Object.keys(fns) as CondConvRow['form'][]) {
        rows.push({ batch, form, ms: ms[form]!, cpu_ms: cpu[form]!, gflops: flops[form]! / 1e9, ratio_to_conv: ms[form]! / ms.conv!, cpu_ratio_to_conv: cpu[form]! / cpu.conv!, ...(form === 'conv' ? {} : { max_abs_diff: diff }) });
      }
    } finally {
      await Promise.all(Object.values(compiled).map((c) => c.dispose()));
    }
  }
  return rows;
}

/** The q/k/v shape [B, heads, tokens, d] of every self-attention core the network runs, read off its traced graph (the softmax's scores and the values it weighs). */
function attentionShapes(model: DiffusionNet, batch: number): number[][] {
  const { graph } = traceFunction(netTraceFn(model), model.inputSpecs(batch));
  const shapes: number[][] = [];
  for (const node of graph.nodes.filter((n) => n.op.name === 'softmax' && /\.self(\.|$)/.test(n.scope))) {
    const weighing = graph.nodes.find((n) => n.op.name === 'matmul' && n.inputs[0] === node.outputs[0]);
    if (weighing) shapes.push([...weighing.inputs[1]!.shape]);
  }
  return shapes;
}

/** The self-attention units (without their normalisation) at each of `shapes` [B, heads, tokens, d], full or GRI (square token grids), on fed tokens x<i>. */
function attentionUnits(shapes: readonly number[][], kind: 'full' | 'gri', settings: CapacityBenchSettings): TraceFn {
  return (graph, t) => {
    const ctx = new ModuleContext(graph);
    return Object.fromEntries(shapes.map(([, heads, tokens], i) => {
      const side = Math.sqrt(tokens!);
      const attention = kind === 'full' ? undefined : griAttention([side, side], { window: settings.window, pool: settings.pool });
      return [`y${i}`, ctx.module(`unit${i}`, () => selfAttention(ctx, t[`x${i}`]!, heads!, 'xavier', attention))];
    }));
  };
}

/** Token inputs x<i> [B, tokens, heads·d] for attentionUnits. */
function unitInputs(shapes: readonly number[][], seed: number): Record<string, HostTensor> {
  return Object.fromEntries(shapes.map(([batch, heads, tokens, depth], i) => [`x${i}`, randomTensor([batch!, tokens!, heads! * depth!], seed + i)]));
}

function randomInputsOf(model: DiffusionNet, batch: number): Record<string, HostTensor> {
  return Object.fromEntries(Object.entries(model.inputSpecs(batch)).map(([name, spec]) => [name, spec.dtype === 'int64'
    ? { dtype: 'int64' as const, shape: spec.shape, data: new BigInt64Array(numel(spec.shape)) }
    : randomTensor(spec.shape, 3)]));
}

interface AttentionVariants {
  network: string;
  variants: { full: DiffusionNet; gri: DiffusionNet };
}

/** Each network with full and with GRI attention: built before any timing, so a window or pool that does not tile a network is an error at once. */
function attentionVariants(settings: CapacityBenchSettings): AttentionVariants[] {
  return Object.entries(settings.networks).map(([network, config]) => ({
    network,
    variants: { full: createModel(config), gri: createModel({ ...config, attention: 'gri', attentionWindow: settings.window, attentionPool: settings.pool }) },
  }));
}

async function attentionRows(networks: readonly AttentionVariants[], settings: CapacityBenchSettings): Promise<AttentionRow[]> {
  const rows: AttentionRow[] = [];
  for (const { network, variants } of networks) {
    const params = initParams(variants.full, 0);
    const inputs = randomInputsOf(variants.full, settings.networkBatch);
    const shapes = attentionShapes(variants.full, settings.networkBatch);
    const unitFeeds = unitInputs(shapes, 10);
    const unitSpecs = Object.fromEntries(Object.entries(unitFeeds).map(([name, t]) => [name, { shape: [...t.shape], dtype: 'float32' as const }]));
    const unitParams = randomParamsOf(traceFunction(attentionUnits(shapes, 'full', settings), unitSpecs).graph, 20); // both attentions on the same projections
    const compiled: Record<string, CompiledFunction> = {};
    const shares: Record<string, number> = {};
    try {
      for (const [kind, model] of Object.entries(variants) as ['full' | 'gri', DiffusionNet][]) {
        compiled[`network-${kind}`] = compile(netTraceFn(model), { params, threads: settings.threads });
        compiled[`attention-${kind}`] = compile(attentionUnits(shapes, kind, settings), { params: unitParams, threads: settings.threads });
        const { graph, outputs } = traceFunction(netTraceFn(model), model.inputSpecs(1));
        const byScope = flopsByScope(graph, Object.values(outputs));
        let attention = 0;
        for (const [scope, flops] of byScope.inclusive) if (/\.self$/.test(scope)) attention += flops;
        shares[kind] = attention / byScope.total;
      }
      const { wall: ms, cpu } = await timeInterleaved(Object.fromEntries(Object.entries(compiled).map(([name, c]) => [name, () => c.run(name.startsWith('network') ? inputs : unitFeeds)])), settings.repeats);
      for (const kind of ['full', 'gri'] as const) {
        rows.push({
          network, tokens: Math.max(...shapes.map((s) => s[2]!)), attention: kind,
          attention_gflops_share: shares[kind]!,
          network_ms: ms[`network-${kind}`]!,
          attention_ms: ms[`attention-${kind}`]!,
          attention_speedup: ms['attention-full']! / ms[`attention-${kind}`]!,
          network_speedup: ms['network-full']! / ms[`network-${kind}`]!,
          network_cpu_ms: cpu[`network-${kind}`]!,
          attention_cpu_ms: cpu[`attention-${kind}`]!,
          attention_cpu_speedup: cpu['attention-full']! / cpu[`attention-${kind}`]!,
          network_cpu_speedup: cpu['network-full']! / cpu[`network-${kind}`]!,
        });
      }
    } finally {
      await Promise.all(Object.values(compiled).map((c) => c.dispose()));
    }
  }
  return rows;
}

/** The trace a profiled session wrote under `prefix` when it closed, summed by kind of work (per node the median over the runs). */
function traceSummary(prefix: string): OpProfile {
  const [folder, name] = [join(prefix, '..'), prefix.split('/').at(-1)!];
  const file = readdirSync(folder).find((f) => f.startsWith(`${name}_`) && f.endsWith('.json'));
  if (!file) throw new Error(`ONNX Runtime wrote no trace for ${prefix}`);
  return summarizeTrace(JSON.parse(readFileSync(join(folder, file), 'utf8')) as TraceEvent[], 1, 'median');
}

/** One attention layer, full and GRI, timed interleaved with ONNX Runtime's per-op trace on (written to a temporary folder and read back). */
async function layerProfileRows(settings: CapacityBenchSettings): Promise<LayerProfileRow[]> {
  const { heads, headWidth, side } = settings.layer;
  const shapes = [[settings.networkBatch, heads, side * side, headWidth]];
  const feeds = unitInputs(shapes, 30);
  const specs = { x0: { shape: [...feeds.x0!.shape], dtype: 'float32' as const } };
  const params = randomParamsOf(traceFunction(attentionUnits(shapes, 'full', settings), specs).graph, 40);
  const folder = mkdtempSync(join(tmpdir(), 'hasten-capacity-'));
  const kinds = ['full', 'gri'] as const;
  const compiled = Object.fromEntries(kinds.map((kind) => [kind, compile(attentionUnits(shapes, kind, settings), { params, threads: settings.threads, profile: join(folder, kind) })]));
  try {
    let times: InterleavedTimes;
    try {
      times = await timeInterleaved(Object.fromEntries(kinds.map((kind) => [kind, () => compiled[kind]!.run(feeds)])), settings.repeats);
    } finally {
      for (const c of Object.values(compiled)) await c.dispose(); // writes the traces
    }
    return kinds.map((kind) => {
      const profile = traceSummary(join(folder, kind));
      return { attention: kind, ms: times.wall[kind]!, cpu_ms: times.cpu[kind]!, kernels_ms: profile.kernels_ms, kinds: profile.kinds.filter((k) => k.nodes_per_run > 0).map((k) => ({ kind: k.kind, ms: k.ms_per_run, ops: k.top_ops })) };
    });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export async function benchCapacity(settings: CapacityBenchSettings, progress: (what: string) => void = () => {}): Promise<CapacityBenchResult> {
  const networks = attentionVariants(settings);
  progress('conditional convolution forms');
  const cond = await condConvRows(settings);
  progress('attention at >= 256 tokens');
  const attention = await attentionRows(networks, settings);
  progress('one attention layer, profiled');
  return { settings, cond_conv: cond, attention, layer_profile: await layerProfileRows(settings) };
}
