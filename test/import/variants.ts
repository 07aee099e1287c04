// Variants of the fixtures as other exporters write them, made with hasten's own ONNX encoder:
// opset 18 GroupNormalization, external data, a fixed batch, a float or per-call timestep, other
// node and tensor names, skip operands first, weights as Constant nodes or listed as inputs.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExternalData, type OnnxModel, type OnnxNode, encodeModel, encodeModelWithExternalData } from '../../src/engine/onnx/codec.js';
import { GraphIndex } from '../../src/import/graph-index.js';

export function withNodes(model: OnnxModel, nodes: OnnxNode[], graph: Partial<OnnxModel['graph']> = {}): OnnxModel {
  return { ...model, graph: { ...model.graph, nodes, ...graph } };
}

/** Opset 18, every lowered GroupNorm (Reshape -> InstanceNormalization -> Reshape) as one GroupNormalization with unit affine (the per-channel Mul and Add stay). */
export function toOpset18GroupNorm(model: OnnxModel): OnnxModel {
  const index = new GraphIndex(model.graph);
  const initializers = new Map(model.graph.initializers);
  const constants = new Map(model.graph.nodes.filter((n) => n.opType === 'Constant').map((n) => [n.outputs[0]!, n.attributes.value as { data: Float32Array; shape: number[] }]));
  const replaced = new Map<number, OnnxNode | null>();
  model.graph.nodes.forEach((node, i) => {
    if (node.opType !== 'InstanceNormalization') return;
    const before = index.producer.get(node.inputs[0]!);
    const after = index.consumers.get(node.outputs[0]!);
    if (before === undefined || after?.length !== 1 || index.node(before).opType !== 'Reshape' || index.node(after[0]!).opType !== 'Reshape') return;
    const scale = constants.get(node.inputs[1]!) ?? (initializers.get(node.inputs[1]!) as never as { data: Float32Array; shape: number[] });
    const groups = scale.shape[0]!;
    const input = index.node(before).inputs[0]!;
    const output = index.node(after[0]!).outputs[0]!;
    const name = node.name!.replace(/InstanceNormalization$/, 'GroupNormalization');
    initializers.set(`${name}.scale`, { dtype: 'float32', shape: [groups], data: new Float32Array(groups).fill(1) });
    initializers.set(`${name}.bias`, { dtype: 'float32', shape: [groups], data: new Float32Array(groups) });
    replaced.set(before, null);
    replaced.set(after[0]!, null);
    replaced.set(i, { opType: 'GroupNormalization', name, inputs: [input, `${name}.scale`, `${name}.bias`], outputs: [output], attributes: { num_groups: groups, epsilon: node.attributes.epsilon ?? 1e-5 } });
  });
  const nodes = model.graph.nodes.flatMap((n, i) => (replaced.has(i) ? (replaced.get(i) ? [replaced.get(i)!] : []) : [n]));
  // Nodes that read the removed Reshapes' shape inputs only are dropped by ONNX Runtime as dead code.
  return { ...withNodes(model, nodes, { initializers }), opsets: [{ domain: '', version: 18 }] };
}

/** Every initializer as a Constant node instead (as exporters that fold weights into the graph write them). */
export function withConstantWeights(model: OnnxModel): OnnxModel {
  const constants: OnnxNode[] = [...model.graph.initializers].map(([name, value]) => ({ opType: 'Constant', name: `${name}/Constant`, inputs: [], outputs: [name], attributes: { value } }));
  return withNodes(model, [...constants, ...model.graph.nodes], { initializers: new Map() });
}

/** Every initializer also listed as a graph input, as IR version 3 required (and keep_initializers_as_inputs writes). */
export function withInitializersAsInputs(model: OnnxModel): OnnxModel {
  const listed = [...model.graph.initializers].map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape] }));
  return withNodes(model, model.graph.nodes, { inputs: [...model.graph.inputs, ...listed] });
}

/** The graph's declared batch axis fixed to `batch`. */
export function withFixedBatch(model: OnnxModel, batch: number): OnnxModel {
  const fix = (v: OnnxModel['graph']['inputs'][number]) => ({ ...v, shape: v.shape.map((d, i) => (i === 0 && typeof d === 'string' ? batch : d)) });
  return withNodes(model, model.graph.nodes, { inputs: model.graph.inputs.map(fix), outputs: model.graph.outputs.map(fix) });
}

/** The timestep input as `dtype` [shape], cast to what the graph used inside. */
export function withTimestepInput(model: OnnxModel, dtype: 'float32' | 'int64', shape: (number | string)[]): OnnxModel {
  const original = model.graph.inputs.find((v) => v.name === 'timestep')!;
  const inner = 'timestep/as_exported';
  const cast: OnnxNode = { opType: 'Cast', name: '/timestep/Cast', inputs: ['timestep'], outputs: [inner], attributes: { to: original.dtype === 'int64' ? 7 : 1 } };
  const nodes = [cast, ...model.graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map((t) => (t === 'timestep' ? inner : t)) }))];
  return withNodes(model, nodes, { inputs: model.graph.inputs.map((v) => (v.name === 'timestep' ? { ...v, dtype, shape } : v)) });
}

/** Every node and intermediate tensor renamed (n0, t0, ...): nothing left of the module scopes. Returns the renaming. */
export function withOpaqueNames(model: OnnxModel): { model: OnnxModel; renamed: Map<string, string> } {
  const keep = new Set([...model.graph.inputs, ...model.graph.outputs].map((v) => v.name).concat([...model.graph.initializers.keys()]));
  const renamed = new Map<string, string>();
  const rename = (t: string) => {
    if (!t || keep.has(t)) return t;
    if (!renamed.has(t)) renamed.set(t, `t${renamed.size}`);
    return renamed.get(t)!;
  };
  const nodes = model.graph.nodes.map((n, i) => {
    const name = `n${i}`;
    if (n.name) renamed.set(n.name, name);
    return { ...n, name, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) };
  });
  return { model: withNodes(model, nodes), renamed };
}

/** Every skip Concat (named in `concats`) with its operands swapped: [skip, hidden]. */
export function withSkipFirst(model: OnnxModel, concats: readonly string[]): OnnxModel {
  return withNodes(model, model.graph.nodes.map((n) => (n.name && concats.includes(n.name) ? { ...n, inputs: [n.inputs[1]!, n.inputs[0]!] } : n)));
}

/** Writes a model into `dir` as model.onnx, with its weights in model.onnx.data when `external`. */
export function writeVariant(model: OnnxModel, dir: string, external = false): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'model.onnx');
  if (external) {
    const data = new ExternalData('model.onnx.data');
    writeFileSync(path, encodeModelWithExternalData(model, data));
    writeFileSync(join(dir, 'model.onnx.data'), Buffer.concat(data.takeNew()));
  } else {
    writeFileSync(path, encodeModel(model));
  }
  return path;
}
