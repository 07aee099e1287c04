// One ONNX graph for every batch size, from a lowering that fixes the batch. The model lowered at
// two batch sizes must differ only in the batch axis of its inputs and outputs and in int64 shape
// constants (the targets of Reshape, Expand, ConstantOfShape, ...) whose entries are the batch or a
// multiple of it; those entries become the batch read from an input at run time times their
// multiple. Anything else that differs means the graph does not scale with its batch: refused, naming
// the node, never guessed.

import type { HostTensor } from '../host-tensor.js';
import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxValueInfo } from './codec.js';

const [SMALL, LARGE] = [2, 3]; // two batch sizes no shape constant of a network meets by chance

function sameValues(a: ArrayLike<unknown>, b: ArrayLike<unknown>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameTensor(a: HostTensor, b: HostTensor): boolean {
  return a.dtype === b.dtype && sameValues(a.shape, b.shape) && sameValues(a.data, b.data);
}

function sameAttribute(a: OnnxAttribute | undefined, b: OnnxAttribute | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && sameValues(a, b);
  return sameTensor(a, b);
}

/** The per-entry rule of an int64 vector lowered at both sizes: entry = multiple·batch + offset, with one of the two zero. */
function batchRule(small: BigInt64Array, large: BigInt64Array): { multiple: bigint[]; offset: bigint[] } | undefined {
  const multiple: bigint[] = [];
  const offset: bigint[] = [];
  for (let i = 0; i < small.length; i++) {
    const [s, l] = [small[i]!, large[i]!];
    if (s === l) {
      multiple.push(0n);
      offset.push(s);
    } else if (s % BigInt(SMALL) === 0n && s * BigInt(LARGE) === l * BigInt(SMALL)) {
      multiple.push(s / BigInt(SMALL));
      offset.push(0n);
    } else {
      return undefined;
    }
  }
  return { multiple, offset };
}

function dynamicInfo(small: OnnxValueInfo, large: OnnxValueInfo, symbol: string, where: string): OnnxValueInfo {
  if (small.name !== large.name || small.dtype !== large.dtype || small.shape.length !== large.shape.length) throw new Error(`${where} '${small.name}' differs between batch sizes beyond its batch axis`);
  const shape = small.shape.map((d, axis) => {
    if (d === large.shape[axis]) return d;
    if (axis === 0 && d === SMALL && large.shape[axis] === LARGE) return symbol;
    throw new Error(`${where} '${small.name}': axis ${axis} is ${d} at batch ${SMALL} and ${large.shape[axis]} at batch ${LARGE}; only the batch axis may vary`);
  });
  return { ...small, shape };
}

/** `lowerAt(batch)` lowers the same function at a fixed batch; the result takes any batch on axis `symbol`. */
export function dynamicBatch(lowerAt: (batch: number) => OnnxModel, symbol = 'batch'): OnnxModel {
  const small = lowerAt(SMALL);
  const large = lowerAt(LARGE);
  const [a, b] = [small.graph, large.graph];
  const what = `${a.name}: the graph does not scale with its batch`;
  if (a.nodes.length !== b.nodes.length || a.inputs.length !== b.inputs.length || a.outputs.length !== b.outputs.length) throw new Error(`${what} (its node or input counts differ between batch sizes)`);
  const inputs = a.inputs.map((info, i) => dynamicInfo(info, b.inputs[i]!, symbol, 'input'));
  const outputs = a.outputs.map((info, i) => dynamicInfo(info, b.outputs[i]!, symbol, 'output'));
  const source = inputs.find((info) => info.shape[0] === symbol);
  if (!source) throw new Error(`${what}: no input has a batch axis`);

  const batchDim = `${symbol}/dim`;
  const added: OnnxNode[] = [{ opType: 'Shape', inputs: [source.name], outputs: [batchDim], name: batchDim, attributes: { start: 0, end: 1 } }];
  const initializers = new Map<string, HostTensor>();
  const computed = new Map<string, string>(); // rule -> the tensor holding it
  const batchConstant = (small: HostTensor, large: HostTensor, where: string): string => {
    const rule = small.dtype === 'int64' && large.dtype === 'int64' && small.shape.length === 1 && sameValues(small.shape, large.shape)
      ? batchRule(small.data as BigInt64Array, large.data as BigInt64Array) : undefined;
    if (!rule) throw new Error(`${what}: a constant input of node '${where}' changes with the batch in a way that is not a multiple of it`);
    const key = `${rule.multiple.join(',')}|${rule.offset.join(',')}`;
    let name = computed.get(key);
    if (!name) {
      name = `${symbol}/shape${computed.size}`;
      const vector = (values: bigint[]): HostTensor => ({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values) });
      initializers.set(`${name}/multiple`, vector(rule.multiple));
      initializers.set(`${name}/offset`, vector(rule.offset));
      added.push(
        { opType: 'Mul', inputs: [batchDim, `${name}/multiple`], outputs: [`${name}/scaled`], name: `${name}/Mul`, attributes: {} },
        { opType: 'Add', inputs: [`${name}/scaled`, `${name}/offset`], outputs: [name], name: `${name}/Add`, attributes: {} },
      );
      computed.set(key, name);
    }
    return name;
  };

  const nodes = a.nodes.map((node, i) => {
    const other = b.nodes[i]!;
    const where = node.name ?? `${node.opType} #${i}`;
    const attributeNames = new Set([...Object.keys(node.attributes), ...Object.keys(other.attributes)]);
    if (node.opType !== other.opType || node.inputs.length !== other.inputs.length || !sameValues(node.outputs, other.outputs) || [...attributeNames].some((k) => !sameAttribute(node.attributes[k], other.attributes[k]))) {
      throw new Error(`${what}: node '${where}' differs between batch sizes`);
    }
    const rewired = node.inputs.map((name, j) => {
      const otherName = other.inputs[j]!;
      const [mine, theirs] = [a.initializers.get(name), b.initializers.get(otherName)];
      if (mine && theirs && sameTensor(mine, theirs)) {
        initializers.set(name, mine);
        return name;
      }
      if (mine && theirs) return batchConstant(mine, theirs, where);
      if (name !== otherName || mine || theirs) throw new Error(`${what}: input ${j} of node '${where}' differs between batch sizes`);
      return name;
    });
    return { ...node, inputs: rewired };
  });
  return { ...small, graph: { ...a, nodes: [...added, ...nodes], inputs, outputs, initializers } };
}
