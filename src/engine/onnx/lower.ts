// Turns a traced graph into an ONNX model: only the nodes the requested outputs need, parameters
// either as graph inputs (training, where they change every step) or as initializers (a standalone
// model that ONNX Runtime can pre-pack).

import { sameShape, type HostTensor, type ParamTree } from '../host-tensor.js';
import { type Emitter, type Graph, type Node, type Tensor, formatShape } from '../graph.js';
import { ONNX_IR_VERSION, ONNX_OPSET, type OnnxModel, type OnnxNode, type OnnxValueInfo } from './codec.js';

export interface LowerOptions {
  /** 'inputs': parameters are fed at run time; a ParamTree: they are baked in as initializers. */
  params: 'inputs' | ParamTree;
  name?: string;
  metadata?: Record<string, string>;
  /** Channel block of ONNX Runtime's NCHWc CPU kernels to lower convolutions onto; 0 or absent: portable ONNX only. */
  nchwcBlock?: number;
}

/** The nodes needed to compute `outputs`, in trace (topological) order. */
export function neededNodes(graph: Graph, outputs: readonly Tensor[]): Node[] {
  const needed = new Set<number>();
  const stack = outputs.map((t) => t.node).filter((n): n is Node => n !== undefined);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (needed.has(node.id)) continue;
    needed.add(node.id);
    for (const input of node.inputs) if (input.node && !needed.has(input.node.id)) stack.push(input.node);
  }
  return graph.nodes.filter((n) => needed.has(n.id));
}

export function lowerToOnnx(graph: Graph, outputs: Record<string, Tensor>, options: LowerOptions): OnnxModel {
  const nodes: OnnxNode[] = [];
  const initializers = new Map<string, HostTensor>();
  const int64Cache = new Map<string, string>();
  const sharedValues = new Map<string, string>();
  let tempCount = 0;
  // Every ONNX node is named after the traced node it lowers ("<scope>/<op>#<n>"), so ONNX Runtime's
  // per-op trace (HASTEN_ORT_PROFILE) says which op, module and gradient rule its time belongs to.
  let origin = '';
  const domains = new Set<string>();
  const emitter: Emitter = {
    node: (opType, inputs, outs, attrs = {}, domain) => {
      if (domain) domains.add(domain);
      nodes.push({ opType, inputs, outputs: outs, attributes: attrs as OnnxNode['attributes'], name: `${origin}#${nodes.length}`, ...(domain ? { domain } : {}) });
    },
    temp: (hint = 't') => `_${hint}${tempCount++}`,
    int64s: (values) => {
      const key = values.join(',');
      let name = int64Cache.get(key);
      if (!name) {
        name = `_i64_${int64Cache.size}`;
        initializers.set(name, { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) });
        int64Cache.set(key, name);
      }
      return name;
    },
    constant: (tensor) => {
      const name = `_const${tempCount++}`;
      initializers.set(name, tensor);
      return name;
    },
    shared: (key, make) => {
      let name = sharedValues.get(key);
      if (name === undefined) sharedValues.set(key, (name = make()));
      return name;
    },
    nchwcBlock: options.nchwcBlock ?? 0,
  };

  const bakedParams = options.params === 'inputs' ? undefined : options.params;
  const nameOf = (t: Tensor): string => {
    if (t.kind === 'input' || t.kind === 'param') return t.name!;
    if (t.kind === 'const') {
      const name = `_c${t.id}`;
      if (!initializers.has(name)) initializers.set(name, t.value!);
      return name;
    }
    return `_v${t.id}`;
  };

  const body = neededNodes(graph, Object.values(outputs));
  const usedParams = new Set<string>();
  for (const node of body) {
    for (const input of node.inputs) if (input.kind === 'param') usedParams.add(input.name!);
    origin = `${node.scope}/${node.op.name}`;
    node.op.lower(emitter, node.inputs.map(nameOf), node.outputs.map(nameOf), node.attrs, node);
  }
  origin = 'outputs/identity';
  for (const [outName, t] of Object.entries(outputs)) {
    if (t.kind === 'param') usedParams.add(t.name!);
    emitter.node('Identity', [nameOf(t)], [outName]);
  }

  const inputs: OnnxValueInfo[] = graph.inputs.map((t) => ({ name: t.name!, dtype: t.dtype, shape: [...t.shape] }));
  for (const [name, t] of graph.params) {
    if (bakedParams) {
      if (!usedParams.has(name)) continue;
      const value = bakedParams.get(name);
      if (!value) throw new Error(`lowering: no value for parameter '${name}'`);
      if (!sameShape(value.shape, t.shape)) {
        throw new Error(`lowering: parameter '${name}' has shape ${formatShape(value.shape)} but the model expects ${formatShape(t.shape)}`);
      }
      initializers.set(name, value);
    } else {
      inputs.push({ name, dtype: t.dtype, shape: [...t.shape] });
    }
  }

  return {
    irVersion: ONNX_IR_VERSION,
    opsets: [{ domain: '', version: ONNX_OPSET }, ...[...domains].map((domain) => ({ domain, version: 1 }))],
    producerName: 'hasten',
    producerVersion: '0.1.0',
    metadata: options.metadata ?? {},
    graph: {
      name: options.name ?? 'hasten',
      nodes,
      inputs,
      outputs: Object.entries(outputs).map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape] })),
      initializers,
    },
  };
}
