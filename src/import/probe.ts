// The shape of every tensor of an imported graph, found by running it once on ONNX Runtime with
// every intermediate exposed as an output: exact where static shape inference would have to follow
// Shape -> Gather -> Concat -> Reshape chains, and it runs the graph as it will later run.

import { encodeModel, type OnnxModel } from '../engine/onnx/codec.js';
import { ModelProto } from '../engine/onnx/schema.js';
import type { HostTensor } from '../engine/host-tensor.js';
import * as ort from 'onnxruntime-node';
import { toOrt } from '../engine/runtime.js';
import { ImportError } from './onnx-file.js';
import type { UNetSignature } from './signature.js';

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
  return feeds;
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

/** Shapes of all tensors (inputs, initializers, node outputs) at `rows` rows. */
export async function probeShapes(model: OnnxModel, signature: UNetSignature, rows = 1): Promise<Shapes> {
  const proto = ModelProto.decode(encodeModel(model)) as unknown as { graph: { output: { name: string }[] } };
  const declared = new Set(model.graph.outputs.map((o) => o.name));
  for (const node of model.graph.nodes) {
    if (node.opType === 'Constant') continue;
    for (const out of node.outputs) if (out && !declared.has(out)) proto.graph.output.push({ name: out });
  }
  const feeds = probeFeeds(signature, rows);
  const shapes: Shapes = new Map();
  let session: ort.InferenceSession | undefined;
  try {
    // ONNX Runtime directly: intermediates may have dtypes (float16, int8) that host tensors do not.
    session = await ort.InferenceSession.create(ModelProto.encode(proto as never).finish(), { intraOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } } });
    const results = await session.run(Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toOrt(t)])));
    for (const [name, t] of Object.entries(results)) shapes.set(name, [...t.dims]);
  } catch (error) {
    throw new ImportError(`ONNX Runtime cannot run the graph: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    await session?.release();
  }
  for (const [name, t] of Object.entries(feeds)) shapes.set(name, [...t.shape]);
  for (const [name, t] of model.graph.initializers) shapes.set(name, [...t.shape]);
  return shapes;
}
