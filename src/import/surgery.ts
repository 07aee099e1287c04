// Graph edits on an imported U-Net, on the plain model objects of src/engine/onnx:
//   skip scaling   Skip-Tuning's factors as a runtime input [B, numSkips] (index 0 = outermost skip),
//                  one Mul on each skip operand where its Concat reads it; the encoder's own use of
//                  the tensor (the middle block reads the deepest one) is left alone
//   cache outputs  the full graph also returns the tensors a caching method keeps
//   cut            a second graph that takes those tensors as inputs and computes only what the
//                  outputs still need from them and the other inputs
// Edits never change an existing node: they add nodes and rewire one input.

import type { OnnxModel, OnnxNode, OnnxValueInfo } from '../engine/onnx/codec.js';
import { GraphIndex } from './graph-index.js';
import type { Shapes } from './probe.js';
import type { UNetStructure } from './structure.js';

export const SKIP_SCALE_INPUT = 'skip_scale';

/** The skips outermost first: Skip-Tuning's and DeepCache's numbering, as for hasten's own U-Net. */
export function skipsOutermostFirst(structure: UNetStructure): UNetStructure['skips'] {
  return [...structure.skips].reverse();
}

function withGraph(model: OnnxModel, graph: Partial<OnnxModel['graph']>): OnnxModel {
  return { ...model, graph: { ...model.graph, ...graph } };
}

function constantInt64(name: string, values: number[]): OnnxNode {
  return { opType: 'Constant', inputs: [], outputs: [name], name, attributes: { value: { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values.map(BigInt)) } } };
}

export function addSkipScale(model: OnnxModel, structure: UNetStructure, batch: number | string): OnnxModel {
  const skips = skipsOutermostFirst(structure);
  const added: OnnxNode[] = [constantInt64(`${SKIP_SCALE_INPUT}/factor_shape`, [-1, 1, 1, 1]), constantInt64(`${SKIP_SCALE_INPUT}/axes`, [1])];
  const rewired = new Map<string, { input: number; tensor: string }>();
  skips.forEach((skip, j) => {
    const prefix = `${SKIP_SCALE_INPUT}/${j}`;
    added.push(
      constantInt64(`${prefix}/start`, [j]),
      constantInt64(`${prefix}/end`, [j + 1]),
      { opType: 'Slice', name: `${prefix}/Slice`, inputs: [SKIP_SCALE_INPUT, `${prefix}/start`, `${prefix}/end`, `${SKIP_SCALE_INPUT}/axes`], outputs: [`${prefix}/column`], attributes: {} },
      { opType: 'Reshape', name: `${prefix}/Reshape`, inputs: [`${prefix}/column`, `${SKIP_SCALE_INPUT}/factor_shape`], outputs: [`${prefix}/factor`], attributes: {} },
      { opType: 'Mul', name: `${prefix}/Mul`, inputs: [skip.skip_operand, `${prefix}/factor`], outputs: [`${prefix}/scaled`], attributes: {} },
    );
    rewired.set(skip.concat_node, { input: skip.skip_input, tensor: `${prefix}/scaled` });
  });
  // The scaling nodes go first (the input and the constants are ready), each Mul just before its Concat.
  const muls = new Map(added.filter((n) => n.opType === 'Mul').map((n) => [n.inputs[0]!, n]));
  const nodes: OnnxNode[] = added.filter((n) => n.opType !== 'Mul');
  for (const node of model.graph.nodes) {
    const edit = node.name !== undefined ? rewired.get(node.name) : undefined;
    if (!edit) {
      nodes.push(node);
      continue;
    }
    nodes.push(muls.get(node.inputs[edit.input]!)!);
    const inputs = [...node.inputs];
    inputs[edit.input] = edit.tensor;
    nodes.push({ ...node, inputs });
  }
  const input: OnnxValueInfo = { name: SKIP_SCALE_INPUT, dtype: 'float32', shape: [batch, skips.length] };
  return withGraph(model, { nodes, inputs: [...model.graph.inputs, input] });
}

/** Feature maps as graph values: [batch, C, H, W] with the graph's batch axis. */
function featureInfo(name: string, shapes: Shapes, batch: number | string): OnnxValueInfo {
  const shape = shapes.get(name);
  if (!shape) throw new Error(`surgery: no probed shape for '${name}'`);
  return { name, dtype: 'float32', shape: [batch, ...shape.slice(1)] };
}

export function addOutputs(model: OnnxModel, names: readonly string[], shapes: Shapes, batch: number | string): OnnxModel {
  const present = new Set(model.graph.outputs.map((o) => o.name));
  return withGraph(model, { outputs: [...model.graph.outputs, ...names.filter((n) => !present.has(n)).map((n) => featureInfo(n, shapes, batch))] });
}

/** The part of the graph its outputs need once the tensors `given` are inputs. */
export function cutGraph(model: OnnxModel, given: readonly string[], shapes: Shapes, batch: number | string): OnnxModel {
  const index = new GraphIndex(model.graph);
  const givenSet = new Set(given);
  const nodes = index.neededNodes(model.graph.outputs.map((o) => o.name), givenSet).map((i) => index.node(i));
  const used = new Set(nodes.flatMap((n) => n.inputs));
  for (const o of model.graph.outputs) used.add(o.name);
  const inputs = [...model.graph.inputs.filter((i) => used.has(i.name)), ...given.filter((g) => used.has(g)).map((g) => featureInfo(g, shapes, batch))];
  const initializers = new Map([...model.graph.initializers].filter(([name]) => used.has(name)));
  return withGraph(model, { nodes, inputs, initializers });
}
