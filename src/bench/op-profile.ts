// Where the time of a graph goes, by kind of work: reads ONNX Runtime's per-op trace (written by any
// command run with HASTEN_ORT_PROFILE) and sums kernel times by what each node computes. The engine
// names every ONNX node after the traced op it lowers ("<scope>/<op>#<n>", backward nodes in the
// scope "grad:<op>(<forward scope>)"), so a node's kind follows from its name: convolution
// forward, input gradient or weight gradient, normalisation, element-wise work, the AdamW update,
// copies and layout changes. Nodes of graphs made elsewhere (imported models) are sorted by their
// ONNX op type instead.

import { median } from './timing.js';

export const OP_KINDS = [
  'conv forward',
  'conv input gradient',
  'conv weight gradient',
  'norm forward',
  'norm backward',
  'matmul and attention',
  'element-wise forward',
  'element-wise backward',
  'optimizer update',
  'copies and layout',
] as const;
export type OpKind = (typeof OP_KINDS)[number];

export interface TraceEvent {
  cat?: string;
  name: string;
  dur?: number; // microseconds
  args?: { op_name?: string; [key: string]: unknown };
}

export interface KindTime {
  kind: OpKind;
  ms_per_run: number; // kernel time per run of the graph
  share: number; // of all kernel time
  nodes_per_run: number;
  top_ops: Record<string, number>; // ONNX op type -> ms per run, largest first
}

export interface OpProfile {
  runs: number; // runs of the graph summarised (after the skipped warm-up runs)
  run_ms: number; // mean wall time of one run as ONNX Runtime timed it
  kernels_ms: number; // sum of kernel times per run
  outside_kernels_ms: number; // run time not in any kernel: feeding inputs, fetching outputs, scheduling
  kinds: KindTime[];
}

const CONV_OPS = new Set(['conv2d', 'convTranspose2d']);
const LAYOUT_OPS = new Set(['Reshape', 'Transpose', 'Concat', 'Slice', 'Split', 'Pad', 'Identity', 'Expand', 'Squeeze', 'Unsqueeze', 'ReorderInput', 'ReorderOutput', 'MemcpyToHost', 'MemcpyFromHost']);
const MATMUL_OPS = new Set(['matmul', 'gemm', 'softmax']);
const NORM_OPS = new Set(['standardize', 'groupNorm']);

/** The traced op, its scope and, for backward nodes, the op whose gradient rule made it. */
export function parseNodeName(name: string): { scope: string; op: string; gradOf: string | null } {
  const origin = name.replace(/_kernel_time$/, '').split('#')[0]!;
  const cut = origin.lastIndexOf('/');
  const scope = cut < 0 ? '' : origin.slice(0, cut);
  const op = origin.slice(cut + 1);
  const gradOf = /^grad:([A-Za-z0-9_]+)\(/.exec(scope)?.[1] ?? null;
  return { scope, op, gradOf };
}

const FOREIGN_KINDS: [Set<string>, OpKind][] = [
  [new Set(['Conv', 'ConvTranspose', 'FusedConv', 'NchwcConv']), 'conv forward'],
  [new Set(['MatMul', 'Gemm', 'FusedMatMul', 'Softmax', 'Attention', 'MultiHeadAttention']), 'matmul and attention'],
  [new Set(['InstanceNormalization', 'GroupNormalization', 'LayerNormalization', 'BatchNormalization', 'SimplifiedLayerNormalization']), 'norm forward'],
  [LAYOUT_OPS, 'copies and layout'],
];

/** The kind of work of one kernel, from its node's name and ONNX op type. */
export function opKind(name: string, onnxOp: string): OpKind {
  // A graph hasten did not lower (an imported model) names its nodes otherwise: its ONNX op types decide.
  if (!name.includes('#')) return FOREIGN_KINDS.find(([ops]) => ops.has(onnxOp))?.[1] ?? 'element-wise forward';
  const { scope, op, gradOf } = parseNodeName(name);
  if (scope === 'update' || scope.startsWith('update.') || scope.startsWith('adamw')) return 'optimizer update';
  if (op === 'conv2dWeightGrad') return 'conv weight gradient';
  if (gradOf !== null && CONV_OPS.has(gradOf)) {
    // The input gradient is a transposed convolution of the gradient (at stride 1 a convolution with
    // the adjoint kernel); everything else the rule makes is the weight gradient (and the bias
    // gradient's sum).
    return CONV_OPS.has(op) ? 'conv input gradient' : 'conv weight gradient';
  }
  if (CONV_OPS.has(op) && gradOf === null) return 'conv forward';
  if (NORM_OPS.has(op) || (gradOf !== null && NORM_OPS.has(gradOf))) return gradOf ? 'norm backward' : 'norm forward';
  if (MATMUL_OPS.has(op) || (gradOf !== null && MATMUL_OPS.has(gradOf))) return 'matmul and attention';
  if (LAYOUT_OPS.has(onnxOp)) return 'copies and layout';
  return gradOf ? 'element-wise backward' : 'element-wise forward';
}

/**
 * Sums a trace by kind over the runs of its graph, skipping the first `skipRuns` (warm-up). Per
 * node, the mean over the runs, or with `statistic` 'median' the median: on a loaded machine a few
 * runs of a node are stretched by waits for a core, and the median leaves them out.
 */
export function summarizeTrace(events: readonly TraceEvent[], skipRuns = 1, statistic: 'mean' | 'median' = 'mean'): OpProfile {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run') as (TraceEvent & { ts: number; dur: number })[];
  if (runs.length <= skipRuns) throw new Error(`the trace has ${runs.length} run(s) of its graph; at least ${skipRuns + 1} are needed to skip ${skipRuns} warm-up run(s)`);
  const counted = runs.slice(skipRuns);
  const start = counted[0]!.ts;
  const n = counted.length;
  const perRun = (durations: readonly number[]): number => (statistic === 'median' ? median(durations) * (durations.length / n) : durations.reduce((a, b) => a + b, 0) / n);
  const perNode = new Map<string, { onnxOp: string; durations: number[] }>();
  for (const e of events as (TraceEvent & { ts: number })[]) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < start) continue;
    const node = perNode.get(e.name) ?? perNode.set(e.name, { onnxOp: e.args?.op_name ?? '?', durations: [] }).get(e.name)!;
    node.durations.push(e.dur ?? 0);
  }
  const perKind = new Map<OpKind, { us: number; nodes: number; ops: Map<string, number> }>(OP_KINDS.map((k) => [k, { us: 0, nodes: 0, ops: new Map() }]));
  let kernelUs = 0;
  for (const [name, { onnxOp, durations }] of perNode) {
    const slot = perKind.get(opKind(name, onnxOp))!;
    const us = perRun(durations);
    slot.us += us;
    slot.nodes += durations.length / n;
    slot.ops.set(onnxOp, (slot.ops.get(onnxOp) ?? 0) + us);
    kernelUs += us;
  }
  const runUs = perRun(counted.map((r) => r.dur));
  const kinds = OP_KINDS.map((kind) => {
    const slot = perKind.get(kind)!;
    const topOps = [...slot.ops].sort((a, b) => b[1] - a[1]).slice(0, 4);
    return { kind, ms_per_run: slot.us / 1000, share: kernelUs > 0 ? slot.us / kernelUs : 0, nodes_per_run: Math.round(slot.nodes), top_ops: Object.fromEntries(topOps.map(([op, us]) => [op, us / 1000])) };
  }).sort((a, b) => b.ms_per_run - a.ms_per_run);
  return { runs: n, run_ms: runUs / 1000, kernels_ms: kernelUs / 1000, outside_kernels_ms: (runUs - kernelUs) / 1000, kinds };
}
