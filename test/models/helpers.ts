// Shared by the model tests: random parameters (a fresh model's zero-initialised output layers would
// make every output zero), random inputs, and running a traced function once on ONNX Runtime.

import assert from 'node:assert/strict';
import type { HostTensor, ParamTree } from '../../src/engine/host-tensor.js';
import { RngStream } from '../../src/engine/rng.js';
import { type TraceFn, compile } from '../../src/engine/runtime.js';
import { initParams } from '../../src/models/init.js';
import type { DiffusionNet } from '../../src/models/network.js';

/** Initialised parameters plus noise, so that no branch is silent. */
export function randomParams(model: DiffusionNet, seed: number, scale = 0.2): ParamTree {
  const params = initParams(model, seed);
  const stream = RngStream.fromSeed(seed, 'test-perturbation');
  let sample = 0;
  for (const t of params.values()) {
    const noise = stream.normal({ start: sample++, count: 1 }, t.data.length);
    t.data.forEach((v, i) => (t.data[i] = v + scale * noise[i]!));
  }
  return params;
}

/** Inputs matching model.inputSpecs(batch): normal x, noise labels in [-1, 1], labels in [0, numClasses] (the last is the null label). */
export function randomInputs(model: DiffusionNet, batch: number, seed: number): Record<string, HostTensor> {
  const stream = RngStream.fromSeed(seed, 'test-inputs');
  const out: Record<string, HostTensor> = {};
  for (const [name, spec] of Object.entries(model.inputSpecs(batch))) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype === 'int64') {
      const range = name === 'label' ? model.config.numClasses + 1 : 8;
      out[name] = { dtype: 'int64', shape: spec.shape, data: BigInt64Array.from(stream.derive(name).integers({ start: 0, count: 1 }, count, range), BigInt) };
    } else if (name === 'noise') {
      out[name] = { dtype: 'float32', shape: spec.shape, data: stream.derive(name).uniform({ start: 0, count: 1 }, count).map((u) => 2 * u - 1) };
    } else {
      out[name] = { dtype: 'float32', shape: spec.shape, data: stream.derive(name).normal({ start: 0, count: 1 }, count) };
    }
  }
  return out;
}

export async function runOnce(fn: TraceFn, params: ParamTree, inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const compiled = compile(fn, { params });
  try {
    return await compiled.run(inputs);
  } finally {
    await compiled.dispose();
  }
}

export function maxAbsDiff(a: HostTensor, b: HostTensor): number {
  assert.deepEqual(a.shape, b.shape);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return worst;
}

export function maxAbs(a: HostTensor): number {
  let worst = 0;
  for (const v of a.data) worst = Math.max(worst, Math.abs(Number(v)));
  return worst;
}

/** Rows [start, start + count) of a batch-major tensor. */
export function rows(t: HostTensor, start: number, count: number): HostTensor {
  const size = t.data.length / t.shape[0]!;
  return { dtype: t.dtype, shape: [count, ...t.shape.slice(1)], data: t.data.slice(start * size, (start + count) * size) } as HostTensor;
}

/** Concatenates batch-major tensors along the batch. */
export function stack(parts: HostTensor[]): HostTensor {
  const total = parts.reduce((n, p) => n + p.shape[0]!, 0);
  const data = parts[0]!.dtype === 'int64' ? new BigInt64Array(parts.reduce((n, p) => n + p.data.length, 0)) : new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let offset = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as Float32Array, offset);
    offset += p.data.length;
  }
  return { dtype: parts[0]!.dtype, shape: [total, ...parts[0]!.shape.slice(1)], data } as HostTensor;
}
