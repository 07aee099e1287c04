// Summing ONNX Runtime's per-op trace by kind: every node of a lowered training step gets the kind
// its traced op implies (conv forward / input gradient / weight gradient, norms, element-wise,
// optimizer, copies), and the totals, shares and per-run figures add up.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grad } from '../../src/engine/autodiff.js';
import * as F from '../../src/engine/ops/index.js';
import { lowerToOnnx } from '../../src/engine/onnx/lower.js';
import { traceFunction } from '../../src/engine/runtime.js';
import { type TraceEvent, opKind, parseNodeName, summarizeTrace } from '../../src/bench/op-profile.js';

// conv -> group norm -> silu -> conv, an MSE loss and a plain SGD update in the 'update' scope.
function loweredStep(nchwcBlock: number) {
  const spec = { shape: [2, 16, 6, 6], dtype: 'float32' as const };
  const { graph, outputs } = traceFunction((g, { x, target }) => {
    const w1 = g.param('w1', [16, 16, 3, 3]);
    const w2 = g.param('w2', [16, 16, 3, 3]);
    const h = F.silu(F.groupNorm(F.conv2d(x!, w1, g.param('b1', [16]), { padding: 1 }), 4, g.param('gn.weight', [16]), g.param('gn.bias', [16])));
    const loss = F.mean(F.square(F.sub(F.conv2d(h, w2, undefined, { padding: 1 }), target!)));
    const grads = grad(loss, [w1, w2]);
    return g.scope('update', () => ({ loss, w1: F.sub(w1, F.mul(grads[0]!, 0.1)), w2: F.sub(w2, F.mul(grads[1]!, 0.1)) }));
  }, { x: spec, target: spec });
  return lowerToOnnx(graph, outputs, { params: 'inputs', nchwcBlock });
}

function traceOf(nodes: { name?: string; opType: string }[], runs: number, usPerNode: number): TraceEvent[] {
  const events: (TraceEvent & { ts: number })[] = [];
  let ts = 0;
  for (let r = 0; r < runs; r++) {
    events.push({ cat: 'Session', name: 'model_run', ts, dur: nodes.length * usPerNode + 50, args: {} });
    for (const node of nodes) events.push({ cat: 'Node', name: `${node.name}_kernel_time`, ts: ++ts, dur: usPerNode, args: { op_name: node.opType } });
    ts += nodes.length * usPerNode + 100;
  }
  return events;
}

describe('op profile', () => {
  test('node names carry the traced op, its scope and the gradient rule that made them', () => {
    assert.deepEqual(parseNodeName('grad:conv2d(enc.0)/convTranspose2d#708/SomeFusion/_kernel_time'), { scope: 'grad:conv2d(enc.0)', op: 'convTranspose2d', gradOf: 'conv2d' });
    assert.deepEqual(parseNodeName('/standardize#6_kernel_time'), { scope: '', op: 'standardize', gradOf: null });
  });

  for (const block of [0, 16]) {
    test(`every node of a lowered training step gets its kind (NCHWc block ${block})`, () => {
      const nodes = loweredStep(block).graph.nodes;
      const kinds = new Map<string, number>();
      for (const node of nodes) {
        assert.match(node.name ?? '', /#\d+$/, `node ${node.opType} is named after its traced op`);
        const kind = opKind(node.name!, node.opType);
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        if (/^(Conv|ConvTranspose)$/.test(node.opType) && !node.name!.startsWith('grad:')) assert.equal(kind, 'conv forward');
        if (node.name!.startsWith('update/')) assert.equal(kind, 'optimizer update');
        if (node.opType === 'LayerNormalization') assert.equal(kind, 'norm forward');
      }
      for (const kind of ['conv forward', 'conv input gradient', 'conv weight gradient', 'norm forward', 'norm backward', 'element-wise forward', 'element-wise backward', 'optimizer update']) {
        assert.ok((kinds.get(kind) ?? 0) > 0, `no node of kind '${kind}' in ${JSON.stringify([...kinds])}`);
      }
    });
  }

  test('nodes of a graph made elsewhere (diffusers-style names) get their kind from the ONNX op type', () => {
    assert.equal(opKind('/down_blocks.0/resnets.0/conv1/Conv_kernel_time', 'Conv'), 'conv forward');
    assert.equal(opKind('/up_blocks.3/attentions.0/transformer_blocks.0/attn1/MatMul_kernel_time', 'MatMul'), 'matmul and attention');
    assert.equal(opKind('/up_blocks.3/attentions.0/transformer_blocks.0/attn1/Softmax_kernel_time', 'Softmax'), 'matmul and attention');
    assert.equal(opKind('/down_blocks.0/resnets.0/norm1/InstanceNormalization_kernel_time', 'InstanceNormalization'), 'norm forward');
    assert.equal(opKind('/up_blocks.0/Concat_kernel_time', 'Concat'), 'copies and layout');
    assert.equal(opKind('/time_embedding/act/Sigmoid_kernel_time', 'Sigmoid'), 'element-wise forward');
  });

  test('a trace sums to per-run times by kind, leaving out the warm-up run', () => {
    const nodes = loweredStep(16).graph.nodes;
    const profile = summarizeTrace(traceOf(nodes, 3, 10), 1);
    assert.equal(profile.runs, 2);
    assert.ok(Math.abs(profile.kernels_ms - (nodes.length * 10) / 1000) < 1e-9);
    assert.ok(Math.abs(profile.outside_kernels_ms - 0.05) < 1e-9);
    assert.ok(Math.abs(profile.kinds.reduce((s, k) => s + k.share, 0) - 1) < 1e-9);
    assert.equal(profile.kinds.reduce((s, k) => s + k.nodes_per_run, 0), nodes.length);
    assert.throws(() => summarizeTrace(traceOf(nodes, 1, 10), 1), /at least 2/);
  });

  test('per node, the median leaves out a run stretched by a wait; the mean does not', () => {
    const nodes = [{ name: '/matmul#1', opType: 'MatMul' }, { name: '/transpose#2', opType: 'Transpose' }];
    const events = traceOf(nodes, 4, 10);
    const stretched = events.filter((e) => e.name === '/matmul#1_kernel_time')[2]!;
    stretched.dur = 1010; // one run of one node waited 1 ms for a core
    const [mean, median] = (['mean', 'median'] as const).map((statistic) => summarizeTrace(events, 1, statistic));
    const matmul = (p: typeof mean) => p.kinds.find((k) => k.kind === 'matmul and attention')!;
    assert.ok(Math.abs(matmul(mean!).ms_per_run - (10 + 10 + 1010) / 3 / 1000) < 1e-9);
    assert.ok(Math.abs(matmul(median!).ms_per_run - 0.01) < 1e-9);
    assert.equal(matmul(median!).nodes_per_run, 1);
    assert.ok(Math.abs(median!.kernels_ms - 0.02) < 1e-9 && Math.abs(median!.run_ms - 0.07) < 1e-9);
  });
});
