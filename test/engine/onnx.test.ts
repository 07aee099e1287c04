// ONNX round trips: a small model lowered with its parameters baked in as initializers survives
// encode -> decode -> encode unchanged, runs in a fresh session with the compiled function's output,
// and attributes of every type keep their type (whole-number floats included).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Graph, Tensor } from '../../src/engine/graph.js';
import type { HostTensor, ParamTree } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { type OnnxModel, decodeModel, encodeModel } from '../../src/engine/onnx/codec.js';
import { ModelProto } from '../../src/engine/onnx/schema.js';
import { OnnxSession, compile } from '../../src/engine/runtime.js';
import { randomTensor } from './gradcheck.js';
import { assertClose } from './reference.js';

// conv -> groupNorm -> silu -> self-attention over the pixels -> linear, with parameters via graph.param.
function model(g: Graph, { x }: Record<string, Tensor>): Record<string, Tensor> {
  const [n, , h, w] = x!.shape as number[];
  const features = g.scope('conv', () => F.conv2d(x!, g.param('conv.weight', [8, 3, 3, 3]), g.param('conv.bias', [8]), { padding: 1, stride: 2 }));
  const normed = F.silu(F.groupNorm(features, 2, g.param('norm.weight', [8]), g.param('norm.bias', [8])));
  const tokens = F.transpose(F.reshape(normed, [n!, 8, -1]), [0, 2, 1]); // [n, pixels, 8]
  const attended = g.scope('attn', () => F.attention(F.linear(tokens, g.param('attn.q', [8, 8])), F.linear(tokens, g.param('attn.k', [8, 8])), tokens));
  const pooled = F.mean(F.add(tokens, attended), 1);
  const logits = F.linear(pooled, g.param('head.weight', [5, 8]), g.param('head.bias', [5]));
  void h, w;
  return { logits, features: normed };
}

const PARAM_SHAPES: Record<string, number[]> = {
  'conv.weight': [8, 3, 3, 3], 'conv.bias': [8], 'norm.weight': [8], 'norm.bias': [8], 'attn.q': [8, 8], 'attn.k': [8, 8], 'head.weight': [5, 8], 'head.bias': [5],
};
const params: ParamTree = new Map(Object.entries(PARAM_SHAPES).map(([name, shape], i) => [name, randomTensor(shape, 100 + i) as HostTensor<'float32'>]));
const input = randomTensor([2, 3, 8, 8], 1);

/** The model's structure and initializer bytes as plain data, for deep comparison. */
function structure(m: OnnxModel): unknown {
  return {
    ...m,
    graph: {
      ...m.graph,
      // Attribute values only (their wire types are checked separately); absent and undefined fields alike.
      nodes: m.graph.nodes.map(({ attributeTypes, ...n }) => JSON.parse(JSON.stringify({ ...n, attributes: Object.fromEntries(Object.entries(n.attributes).map(([k, v]) => [k, normaliseAttribute(v)])) }))),
      initializers: [...m.graph.initializers].map(([name, t]) => [name, t.dtype, t.shape, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex')]),
    },
  };
}
function normaliseAttribute(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && 'data' in v) {
    const t = v as HostTensor;
    return { dtype: t.dtype, shape: t.shape, bytes: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex') };
  }
  // Floats come back as float32-rounded values.
  if (typeof v === 'number') return Math.fround(v);
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'number' ? Math.fround(x) : x));
  return v;
}

describe('ONNX round trip of a model with baked parameters', () => {
  const compiled = compile(model, { params });
  const { model: lowered } = compiled.lower({ x: { shape: [...input.shape], dtype: 'float32' } });
  const bytes = encodeModel(lowered);

  test('parameters become initializers, not inputs', () => {
    assert.deepEqual(lowered.graph.inputs.map((i) => i.name), ['x']);
    for (const [name, value] of params) {
      const init = lowered.graph.initializers.get(name);
      assert.ok(init, `initializer ${name}`);
      assert.deepEqual(init.shape, value.shape);
    }
  });

  test('encode -> decode -> encode keeps the structure and the initializer bytes', () => {
    const decoded = decodeModel(bytes, 'roundtrip.onnx');
    assert.deepEqual(structure(decoded), structure(lowered));
    for (const [name, value] of params) {
      const init = decoded.graph.initializers.get(name)!;
      assert.deepEqual(Buffer.from(init.data.buffer, init.data.byteOffset, init.data.byteLength), Buffer.from(value.data.buffer, value.data.byteOffset, value.data.byteLength), name);
    }
    const again = encodeModel(decoded);
    assert.deepEqual(Buffer.from(again), Buffer.from(bytes), 're-encoded bytes');
  });

  test('the decoded model runs in a fresh session with the compiled output', async () => {
    const expected = await compiled.run({ x: input });
    const session = await OnnxSession.create(decodeModel(bytes, 'roundtrip.onnx'), { threads: 1 });
    try {
      assert.deepEqual([...session.inputNames], ['x']);
      const out = await session.run({ x: input });
      for (const name of ['logits', 'features']) assertClose(out[name]!, expected[name]!.shape, expected[name]!.data as Float32Array, 1e-5, name);
      assert.deepEqual(out.logits!.shape, [2, 5]);
    } finally {
      await session.dispose();
      await compiled.dispose();
    }
  });

  test('the encoded bytes also load directly (as another runtime would read the file)', async () => {
    const session = await OnnxSession.create(bytes);
    const out = await session.run({ x: input });
    assert.ok(Array.from(out.logits!.data as Float32Array).every(Number.isFinite));
    await session.dispose();
  });
});

describe('attributes of every type', () => {
  const scalar = (v: number): HostTensor => ({ dtype: 'float32', shape: [1], data: Float32Array.of(v) });
  // Every node runs on ONNX Runtime; between them they use each attribute type.
  const m: OnnxModel = {
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'test',
    producerVersion: '1',
    metadata: { note: 'attribute types' },
    graph: {
      name: 'attributes',
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [3, 2] }, { name: 'c', dtype: 'float32', shape: [3] }, { name: 'z', dtype: 'float32', shape: [2, 2] }],
      initializers: new Map<string, HostTensor>([
        ['scale', { dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3) }],
        ['shape', { dtype: 'int64', shape: [2], data: BigInt64Array.of(2n, 2n) }],
        ['pads', { dtype: 'int64', shape: [4], data: BigInt64Array.of(0n, 0n, 0n, 0n) }],
      ]),
      nodes: [
        // float (whole number: epsilon = 1) and int
        { opType: 'LayerNormalization', inputs: ['x', 'scale'], outputs: ['ln'], attributes: { axis: -1, epsilon: 1 } },
        // ints
        { opType: 'Transpose', inputs: ['ln'], outputs: ['t'], attributes: { perm: [1, 0] } },
        // string
        { opType: 'Pad', inputs: ['t', 'pads'], outputs: ['p'], attributes: { mode: 'reflect' } },
        // float (fractional)
        { opType: 'LeakyRelu', inputs: ['p'], outputs: ['y'], attributes: { alpha: 0.25 } },
        // floats (fractional and whole)
        { opType: 'Constant', inputs: [], outputs: ['c1'], attributes: { value_floats: [0.5, 1.5, -2.25] } },
        { opType: 'Add', inputs: ['c1', 'scale'], outputs: ['c'], attributes: {} },
        // tensor
        { opType: 'ConstantOfShape', inputs: ['shape'], outputs: ['z'], attributes: { value: scalar(7) } },
      ],
    },
  };

  test('survive encode -> decode -> encode with their types', () => {
    const bytes = encodeModel(m);
    const decoded = decodeModel(bytes, 'attributes.onnx');
    assert.deepEqual(structure(decoded), structure(m));
    const attrs = Object.fromEntries(decoded.graph.nodes.map((n) => [n.opType, n.attributes]));
    assert.equal(attrs.LayerNormalization!.epsilon, 1);
    assert.equal(attrs.LayerNormalization!.axis, -1);
    assert.deepEqual(attrs.Transpose!.perm, [1, 0]);
    assert.equal(attrs.Pad!.mode, 'reflect');
    assert.equal(attrs.LeakyRelu!.alpha, 0.25);
    assert.deepEqual(attrs.Constant!.value_floats, [0.5, 1.5, -2.25]);
    assert.deepEqual(normaliseAttribute(attrs.ConstantOfShape!.value), normaliseAttribute(scalar(7)));
    assert.deepEqual(Buffer.from(encodeModel(decoded)), Buffer.from(bytes));

    // The wire types, read back with the schema directly.
    const raw = ModelProto.toObject(ModelProto.decode(bytes), { enums: String }) as { graph: { node: { attribute?: { name: string; type: string }[] }[] } };
    const types = Object.fromEntries(raw.graph.node.flatMap((n) => (n.attribute ?? []).map((a) => [a.name, a.type])));
    assert.deepEqual(types, { axis: 'INT', epsilon: 'FLOAT', perm: 'INTS', mode: 'STRING', alpha: 'FLOAT', value_floats: 'FLOATS', value: 'TENSOR' });
  });

  test('the decoded model runs and computes what the attributes say', async () => {
    const session = await OnnxSession.create(decodeModel(encodeModel(m)));
    const x = { dtype: 'float32' as const, shape: [2, 3], data: Float32Array.of(1, 2, 3, -1, 0, 4) };
    const out = await session.run({ x });
    // LayerNormalization with epsilon 1: (x - mean) / sqrt(var + 1) * scale; transposed; leaky relu 0.25.
    const expected: number[] = [];
    const rows = [[1, 2, 3], [-1, 0, 4]].map((row) => {
      const mean = row.reduce((a, b) => a + b) / 3;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 3;
      return row.map((v, i) => ((v - mean) / Math.sqrt(variance + 1)) * (i + 1));
    });
    for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) expected.push(rows[i]![j]! >= 0 ? rows[i]![j]! : 0.25 * rows[i]![j]!);
    assertClose(out.y!, [3, 2], expected, 1e-5, 'y');
    assertClose(out.c!, [3], [1.5, 3.5, 0.75], 0, 'c');
    assertClose(out.z!, [2, 2], [7, 7, 7, 7], 0, 'z');
    await session.dispose();
  });

  test('whole-number floats and empty lists written by another exporter keep their types', async () => {
    // Written with the schema directly, as another exporter would: FLOAT attributes whose values are
    // whole numbers under names the encoder cannot know are floats (Shrink's lambd and bias, Constant's
    // value_float and value_floats), and a string list.
    const f = (name: string, v: number): object => ({ name, type: 1, f: v });
    const bytes = ModelProto.encode(ModelProto.fromObject({
      ir_version: 8,
      opset_import: [{ domain: '', version: 17 }],
      graph: {
        name: 'foreign',
        node: [
          { op_type: 'Shrink', input: ['x'], output: ['s'], attribute: [f('lambd', 1), f('bias', 2)] },
          { op_type: 'Constant', output: ['k'], attribute: [f('value_float', 3)] },
          { op_type: 'Constant', output: ['ks'], attribute: [{ name: 'value_floats', type: 6, floats: [1, 2] }] },
          { op_type: 'Mul', input: ['s', 'k'], output: ['m'] },
          { op_type: 'Add', input: ['m', 'ks'], output: ['y'] },
        ],
        input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 2 }] } } } }],
        output: [{ name: 'y', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 2 }] } } } }],
      },
    })).finish();
    const decoded = decodeModel(bytes, 'foreign.onnx');
    const reencoded = encodeModel(decoded);
    const raw = ModelProto.toObject(ModelProto.decode(reencoded), { enums: String }) as { graph: { node: { attribute?: { name: string; type: string }[] }[] } };
    const types = Object.fromEntries(raw.graph.node.flatMap((n) => (n.attribute ?? []).map((a) => [a.name, a.type])));
    assert.deepEqual(types, { lambd: 'FLOAT', bias: 'FLOAT', value_float: 'FLOAT', value_floats: 'FLOATS' });
    const session = await OnnxSession.create(reencoded);
    const out = await session.run({ x: { dtype: 'float32', shape: [2], data: Float32Array.of(3, 0.5) } });
    // Shrink(lambd 1, bias 2): 3 -> 1, 0.5 -> 0; times 3; plus [1, 2].
    assertClose(out.y!, [2], [4, 2], 0, 'y');
    await session.dispose();
  });

  test('a string list and an empty int list keep their types', () => {
    const decoded = decodeModel(ModelProto.encode(ModelProto.fromObject({
      ir_version: 8,
      graph: { name: 'lists', node: [{ op_type: 'Custom', domain: 'test', attribute: [{ name: 'names', type: 8, strings: [new TextEncoder().encode('a'), new TextEncoder().encode('b')] }, { name: 'empty', type: 7 }] }] },
    })).finish());
    assert.deepEqual(decoded.graph.nodes[0]!.attributes, { names: ['a', 'b'], empty: [] });
    const raw = ModelProto.toObject(ModelProto.decode(encodeModel(decoded)), { enums: String }) as { graph: { node: { attribute: { name: string; type: string }[] }[] } };
    assert.deepEqual(raw.graph.node[0]!.attribute.map((a) => [a.name, a.type]), [['names', 'STRINGS'], ['empty', 'INTS']]);
  });
});

test('HASTEN_ORT_PROFILE writes a per-op trace, and an unwritable folder is one clear error', () => {
  // The variable is read when the runtime loads, so each case runs in a process of its own.
  const runtime = new URL('../../src/engine/runtime.js', import.meta.url).href;
  const ops = new URL('../../src/engine/ops/index.js', import.meta.url).href;
  const script = `import { compile } from '${runtime}'; import * as F from '${ops}';
    const f = compile((g, { x }) => ({ y: F.mul(x, x) }), { params: 'inputs' });
    try { await f.run({ x: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) } }); await f.dispose(); }
    catch (error) { console.error(error.message); process.exit(3); }`;
  const run = (prefix: string) => spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, HASTEN_ORT_PROFILE: prefix }, encoding: 'utf8' });
  const dir = mkdtempSync(join(tmpdir(), 'hasten-profile-'));
  try {
    assert.equal(run(join(dir, 'trace')).status, 0);
    assert.ok(readdirSync(dir).some((name) => /^trace_.*\.json$/.test(name)), `no trace in ${readdirSync(dir).join(', ')}`);
    const missing = run(join(dir, 'no-such-folder', 'trace'));
    assert.equal(missing.status, 3);
    assert.match(missing.stderr, /HASTEN_ORT_PROFILE=.*cannot write traces into .*no-such-folder \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
