// Finite-difference gradient checks: compares the graph's gradient along a random direction with a
// central difference of the traced function itself, both evaluated by ONNX Runtime.

import assert from 'node:assert/strict';
import type { DType, HostTensor } from '../../src/engine/host-tensor.js';
import { grad } from '../../src/engine/autodiff.js';
import type { Graph, Tensor } from '../../src/engine/graph.js';
import * as F from '../../src/engine/ops/index.js';
import { compile } from '../../src/engine/runtime.js';

export function randomTensor(shape: number[], seed: number, dtype: DType = 'float32'): HostTensor {
  let state = seed * 2654435761 + 12345;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, () => {
    const u = Math.max(next(), 1e-9);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  });
  return dtype === 'float64' ? { dtype, shape, data: Float64Array.from(values) } : { dtype: 'float32', shape, data: Float32Array.from(values) };
}

export interface GradCheckOptions {
  /** Inputs that are not differentiated (indices, masks). */
  fixed?: Record<string, HostTensor>;
  eps?: number;
  tolerance?: number;
  seed?: number;
}

/**
 * Checks d/dε f(x + ε·d) at 0 against <∇f, d> for f(x) = sum(fn(x) * r), with random r and d,
 * for each differentiable input.
 */
export async function gradCheck(name: string, fn: (g: Graph, inputs: Record<string, Tensor>) => Tensor, inputs: Record<string, HostTensor>, options: GradCheckOptions = {}): Promise<void> {
  const { fixed = {}, eps = 1e-2, tolerance = 2e-2, seed = 1 } = options;
  const names = Object.keys(inputs);
  let projection: HostTensor | undefined;
  const compiled = compile((g, t) => {
    const y = fn(g, t);
    projection ??= randomTensor([...y.shape], seed + 1000, y.dtype);
    const loss = F.sum(F.mul(y, g.constant(projection)));
    const grads = grad(loss, names.map((n) => t[n]!));
    return { loss, ...Object.fromEntries(names.map((n, i) => [`grad_${n}`, grads[i]!])) };
  }, { params: 'inputs' });
  const feeds = { ...inputs, ...fixed };
  const base = await compiled.run(feeds);
  for (const [k, inputName] of names.entries()) {
    const x = inputs[inputName]!;
    const direction = randomTensor([...x.shape], seed + 17 * (k + 1), x.dtype);
    const shifted = (sign: number): HostTensor => ({ ...x, data: (x.data as Float32Array).map((v, i) => v + sign * eps * (direction.data as Float32Array)[i]!) } as HostTensor);
    const plus = (await compiled.run({ ...feeds, [inputName]: shifted(1) })).loss!.data[0] as number;
    const minus = (await compiled.run({ ...feeds, [inputName]: shifted(-1) })).loss!.data[0] as number;
    const numeric = (plus - minus) / (2 * eps);
    const g = base[`grad_${inputName}`]!.data as Float32Array;
    let analytic = 0;
    g.forEach((v, i) => (analytic += v * (direction.data as Float32Array)[i]!));
    const scale = Math.max(1, Math.abs(numeric), Math.abs(analytic));
    assert.ok(
      Math.abs(numeric - analytic) <= tolerance * scale,
      `${name}: gradient of '${inputName}' along a random direction: analytic ${analytic}, finite difference ${numeric}`,
    );
  }
  await compiled.dispose();
}
