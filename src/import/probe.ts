// The shape of every tensor of an imported graph, found by running it once on ONNX Runtime with
// every intermediate exposed as an output: exact where static shape inference would have to follow
// Shape -> Gather -> Concat -> Reshape chains, and it runs the graph as it will later run.

import type { OnnxModel, OnnxNode } from '../engine/onnx/codec.js';
import type { HostTensor } from '../engine/host-tensor.js';
import * as ort from 'onnxruntime-node';
import { toOrt } from '../engine/runtime.js';
import type { GraphFiles } from './graph-files.js';
import { ImportError } from './onnx-file.js';
import type { ClassLabels, UNetSignature } from './signature.js';

export type Shapes = Map<string, number[]>;

/** Deterministic inputs for one call of `rows` rows at a mid-range timestep. */
export function probeFeeds(signature: UNetSignature, rows: number, timestep = 500): Record<string, HostTensor> {
  const wave = (n: number, phase: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(0.7 * i + phase));
  const sampleShape = [rows, ...signature.sampleShape];
  const feeds: Record<string, HostTensor> = { [signature.sample]: { dtype: 'float32', shape: sampleShape, data: wave(sampleShape.reduce((a, b) => a * b, 1), 0) } };
  feeds[signature.timestep] = timestepTensor(signature, new Array(rows).fill(timestep));
  if (signature.conditioning) {
    const shape = [rows, ...signature.conditioning.shape];
    feeds[signature.conditioning.name] = { dtype: 'float32', shape, data: wave(shape.reduce((a, b) => a * b, 1), 1) };
  }
  if (signature.classLabels) feeds[signature.classLabels.name] = classLabelTensor(signature.classLabels, Array.from({ length: rows }, (_, i) => i % signature.classLabels!.classes));
  return feeds;
}

/** Class labels as the graph's class-label input takes them. */
export function classLabelTensor(input: ClassLabels, labels: readonly number[]): HostTensor {
  return input.dtype === 'int64'
    ? { dtype: 'int64', shape: [labels.length], data: BigInt64Array.from(labels, (c) => BigInt(c)) }
    : { dtype: 'int32', shape: [labels.length], data: Int32Array.from(labels) };
}

/** The timestep input for per-row timesteps: integers rounded for integer inputs, one value for a scalar input. */
export function timestepTensor(signature: UNetSignature, timesteps: readonly number[]): HostTensor {
  const values = signature.timestepShape === 'scalar' ? [timesteps[0]!] : timesteps;
  const shape = signature.timestepShape === 'scalar' ? (signature.timestepRank === 0 ? [] : [1]) : [values.length];
  switch (signature.timestepDtype) {
    case 'int64': return { dtype: 'int64', shape, data: BigInt64Array.from(values, (v) => BigInt(Math.round(v))) };
    case 'int32': return { dtype: 'int32', shape, data: Int32Array.from(values, (v) => Math.round(v)) };
    case 'float64': return { dtype: 'float64', shape, data: Float64Array.from(values) };
    case 'float32': return { dtype: 'float32', shape, data: Float32Array.from(values) };
  }
}

function constantShape(node: OnnxNode): number[] | undefined {
  const { value, value_float: float, value_int: int, value_floats: floats, value_ints: ints } = node.attributes;
  if (value !== undefined && typeof value === 'object' && 'shape' in value) return [...value.shape];
  if (float !== undefined || int !== undefined) return [];
  const list = floats ?? ints;
  if (Array.isArray(list)) return [list.length];
  return undefined;
}

/** Shapes of all tensors (inputs, initializers, node outputs, Constant nodes' values) at `rows` rows. */
export async function probeShapes(model: OnnxModel, signature: UNetSignature, files: GraphFiles, rows = 1): Promise<Shapes> {
  const declared = new Set(model.graph.outputs.map((o) => o.name));
  const intermediates = model.graph.nodes.filter((node) => node.opType !== 'Constant').flatMap((node) => node.outputs.filter((out) => out && !declared.has(out)));
  const source = files.source(model, (proto) => proto.graph.output.push(...intermediates.map((name) => ({ name }))));
  const feeds = probeFeeds(signature, rows);
  const shapes: Shapes = new Map();
  let session: ort.InferenceSession | undefined;
  try {
    // ONNX Runtime directly: intermediates may have dtypes (float16, int8) that host tensors do not.
    const options = { intraOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } } };
    session = await (typeof source === 'string' ? ort.InferenceSession.create(source, options) : ort.InferenceSession.create(source, options));
    const results = await session.run(Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toOrt(t)])));
    for (const [name, t] of Object.entries(results)) shapes.set(name, [...t.dims]);
  } catch (error) {
    throw new ImportError(`ONNX Runtime cannot run the graph: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    await session?.release();
  }
  for (const [name, t] of Object.entries(feeds)) shapes.set(name, [...t.shape]);
  for (const [name, t] of model.graph.initializers) shapes.set(name, [...t.shape]);
  // Weights some exporters keep in Constant nodes rather than initializers (not outputs ONNX Runtime can return).
  for (const node of model.graph.nodes) {
    const shape = node.opType === 'Constant' ? constantShape(node) : undefined;
    if (shape) shapes.set(node.outputs[0]!, shape);
  }
  return shapes;
}
