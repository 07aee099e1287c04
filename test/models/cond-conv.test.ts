// The conditional convolution: both execution forms against a per-sample host reference, their
// gradients by finite differences, FLOPs that count the routing and mixing, and the U-Net option.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Graph, Tensor } from '../../src/engine/graph.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import { traceFunction } from '../../src/engine/runtime.js';
import { type CondConvForm, condConv } from '../../src/models/cond-conv.js';
import { ModelConfigError } from '../../src/models/config-checks.js';
import { netTraceFn } from '../../src/models/network.js';
import { ModuleContext } from '../../src/models/module-context.js';
import { createModel } from '../../src/models/registry.js';
import type { UNet } from '../../src/models/unet.js';
import { gradCheck, randomTensor } from '../engine/gradcheck.js';
import { conv2dRef, forward } from '../engine/reference.js';
import { maxAbsDiff, randomInputs, randomParams, runOnce } from './helpers.js';

/** A module context whose parameters are the traced function's inputs of the same names, so tests can feed and differentiate them. */
class ParamsFromInputs extends ModuleContext {
  constructor(graph: Graph, private readonly inputs: Record<string, Tensor>) {
    super(graph);
  }

  override param(name: string): Tensor {
    const t = this.inputs[name];
    if (!t) throw new Error(`test feeds no parameter '${name}'`);
    return t;
  }
}

const [BATCH, IN, OUT, SIDE, EXPERTS, EMB] = [2, 3, 4, 5, 3, 6];

function feeds(seed: number, batch = BATCH, withEmb = true): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {
    x: randomTensor([batch, IN, SIDE, SIDE], seed),
    'cc.experts': randomTensor([EXPERTS, OUT, IN, 3, 3], seed + 1),
    'cc.bias': randomTensor([EXPERTS, OUT], seed + 2),
    'cc.route.weight': randomTensor([EXPERTS, IN], seed + 3),
    'cc.route.bias': randomTensor([EXPERTS], seed + 4),
  };
  if (withEmb) Object.assign(out, { emb: randomTensor([batch, EMB], seed + 5), 'cc.routeEmb.weight': randomTensor([EXPERTS, EMB], seed + 6) });
  return out;
}

const layer = (form: CondConvForm, stride = 1) => (graph: Graph, t: Record<string, Tensor>): Tensor =>
  condConv(new ParamsFromInputs(graph, t), 'cc', t.x!, OUT, 3, { experts: EXPERTS, form, emb: t.emb, stride });

/** Per sample: r = sigmoid(W_r GAP(x) + b_r + W_e emb), kernel = sum_k r_k E_k, bias = sum_k r_k b_k, then a plain convolution. */
function reference(f: Record<string, HostTensor>, stride: number): { shape: number[]; data: Float64Array } {
  const x = f.x!.data as Float32Array;
  const [batch] = f.x!.shape as number[];
  const value = (name: string): Float32Array => f[name]!.data as Float32Array;
  const kernelSize = OUT * IN * 9;
  const parts: Float64Array[] = [];
  let shape: number[] = [];
  for (let b = 0; b < batch!; b++) {
    const pooled = Array.from({ length: IN }, (_, c) => x.slice((b * IN + c) * SIDE * SIDE, (b * IN + c + 1) * SIDE * SIDE).reduce((s, v) => s + v, 0) / (SIDE * SIDE));
    const r = Array.from({ length: EXPERTS }, (_, k) => {
      let logit = value('cc.route.bias')[k]!;
      pooled.forEach((p, c) => (logit += value('cc.route.weight')[k * IN + c]! * p));
      if (f.emb) for (let e = 0; e < EMB; e++) logit += value('cc.routeEmb.weight')[k * EMB + e]! * value('emb')[b * EMB + e]!;
      return 1 / (1 + Math.exp(-logit));
    });
    const kernel = new Float32Array(kernelSize).map((_, i) => r.reduce((s, rk, k) => s + rk * value('cc.experts')[k * kernelSize + i]!, 0));
    const bias = new Float32Array(OUT).map((_, o) => r.reduce((s, rk, k) => s + rk * value('cc.bias')[k * OUT + o]!, 0));
    const sample: HostTensor = { dtype: 'float32', shape: [1, IN, SIDE, SIDE], data: x.slice(b * IN * SIDE * SIDE, (b + 1) * IN * SIDE * SIDE) };
    const y = conv2dRef(sample, { dtype: 'float32', shape: [OUT, IN, 3, 3], data: kernel }, { dtype: 'float32', shape: [OUT], data: bias }, { stride: [stride, stride], padding: [1, 1] });
    parts.push(y.data);
    shape = [batch!, ...y.shape.slice(1)];
  }
  const data = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  parts.forEach((p, i) => data.set(p, i * p.length));
  return { shape, data };
}

test('cond-conv: both forms equal a per-sample mixed-kernel convolution (to 1e-5), with and without the embedding route, at batch 1 and 2 and stride 2', async () => {
  for (const [batch, withEmb, stride] of [[2, true, 1], [2, false, 1], [1, true, 1], [2, true, 2]] as const) {
    const f = feeds(7, batch, withEmb);
    const expected = reference(f, stride);
    for (const form of ['kernels', 'outputs'] as const) {
      const y = await forward(layer(form, stride), f);
      assert.deepEqual(y.shape, expected.shape);
      const worst = Math.max(...Array.from(y.data as Float32Array, (v, i) => Math.abs(v - expected.data[i]!)));
      assert.ok(worst < 1e-5, `${form}, batch ${batch}, embedding ${withEmb}, stride ${stride}: max difference ${worst}`);
    }
  }
});

test('cond-conv: gradients of the input, experts, biases and routing match finite differences in both forms', async () => {
  for (const form of ['kernels', 'outputs'] as const) await gradCheck(`condConv ${form}`, layer(form), feeds(11));
});

test('cond-conv: FLOPs count routing and mixing; mixing kernels costs about one convolution, mixing outputs K', () => {
  const flops = (form: CondConvForm): number => {
    const specs = Object.fromEntries(Object.entries(feeds(1)).map(([name, t]) => [name, { shape: [...t.shape], dtype: t.dtype }]));
    const { graph } = traceFunction((g, t) => ({ y: layer(form)(g, t) }), specs);
    return graph.nodes.reduce((sum, node) => sum + (node.op.flops?.(node) ?? 0), 0);
  };
  const oneConv = 2 * BATCH * OUT * SIDE * SIDE * IN * 9;
  const kernelMixing = 2 * BATCH * EXPERTS * OUT * IN * 9;
  assert.ok(flops('kernels') >= oneConv + kernelMixing, `kernels: ${flops('kernels')}`);
  assert.ok(flops('kernels') < oneConv + kernelMixing + 0.2 * oneConv, `kernels: ${flops('kernels')}`);
  assert.ok(flops('outputs') >= EXPERTS * oneConv, `outputs: ${flops('outputs')}`);
});

const TINY = { arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 3 };

test('cond-conv: a U-Net with conditional convolutions in chosen residual layers; both forms give the same network', async () => {
  const layers = ['enc.1.0.res', 'dec.0.1.res'];
  const model = (settings: Record<string, unknown>): UNet => createModel({ ...TINY, condConvLayers: layers, condConvExperts: 2, ...settings }) as UNet;
  const kernels = model({ condConvRoute: 'input+time' });
  const names = [...kernels.paramShapes().keys()];
  assert.deepEqual(names.filter((n) => n.includes('.experts')), ['enc.1.0.res.conv0.experts', 'enc.1.0.res.conv1.experts', 'dec.0.1.res.conv0.experts', 'dec.0.1.res.conv1.experts']);
  assert.deepEqual(kernels.paramShapes().get('enc.1.0.res.conv0.experts'), [2, 16, 8, 3, 3]);
  assert.ok(names.includes('dec.0.1.res.conv1.routeEmb.weight') && !names.includes('enc.0.0.res.conv0.experts'));
  assert.ok(!model({}).paramShapes().has('dec.0.1.res.conv1.routeEmb.weight'), "the 'input' route reads no embedding");
  const params = randomParams(kernels, 2);
  const inputs = randomInputs(kernels, 3, 4);
  const a = (await runOnce(netTraceFn(kernels), params, inputs)).out!;
  const b = (await runOnce(netTraceFn(model({ condConvRoute: 'input+time', condConvForm: 'outputs' })), params, inputs)).out!;
  assert.ok(maxAbsDiff(a, b) < 1e-4, `forms differ by ${maxAbsDiff(a, b)}`);
});

test('cond-conv: U-Net settings name what is wrong', () => {
  assert.throws(() => createModel({ ...TINY, condConvLayers: ['enc.1.0.attn'] }), (e: Error) => e instanceof ModelConfigError && /'condConvLayers' has "enc.1.0.attn", which is not a residual layer/.test(e.message));
  assert.throws(() => createModel({ ...TINY, condConvLayers: ['dec.0.1.res'], removedModules: ['dec.0.1'] }), /'condConvLayers' has 'dec.0.1.res', which 'removedModules' removes \('dec.0.1'\)/);
  assert.throws(() => createModel({ ...TINY, condConvForm: 'mixed' }), /'condConvForm' must be one of kernels, outputs/);
  assert.throws(() => createModel({ ...TINY, condConvExperts: 0 }), /'condConvExperts' must be an integer >= 1/);
});
