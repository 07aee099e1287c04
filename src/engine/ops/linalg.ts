// Matrix products. Batch axes broadcast like numpy's matmul.

import { type Attrs, type OpDef, type Tensor, ShapeError, apply1, formatShape } from '../graph.js';
import { broadcastShapes } from './broadcast.js';
import { add, unbroadcast } from './elementwise.js';
import { reshape, transposeLast2 } from './shape.js';

const matmulOp: OpDef = {
  name: 'matmul',
  infer: ([a, b]) => {
    if (a!.rank < 2 || b!.rank < 2) throw new ShapeError(`matmul: both operands need rank >= 2, got ${formatShape(a!.shape)} and ${formatShape(b!.shape)}`);
    if (a!.dtype !== b!.dtype) throw new ShapeError(`matmul: dtypes differ (${a!.dtype} and ${b!.dtype})`);
    const k = a!.shape[a!.rank - 1]!;
    if (b!.shape[b!.rank - 2] !== k) {
      throw new ShapeError(`matmul: inner dimensions differ: ${formatShape(a!.shape)} @ ${formatShape(b!.shape)}`);
    }
    const batch = broadcastShapes(`matmul: batch axes of ${formatShape(a!.shape)} @ ${formatShape(b!.shape)}`, [a!.shape.slice(0, -2), b!.shape.slice(0, -2)]);
    return [{ shape: [...batch, a!.shape[a!.rank - 2]!, b!.shape[b!.rank - 1]!], dtype: a!.dtype }];
  },
  lower: (emit, inputs, outputs) => emit.node('MatMul', inputs, outputs),
  vjp: ([g], { inputs: [a, b] }) => [
    unbroadcast(matmul(g!, transposeLast2(b!)), a!.shape),
    unbroadcast(matmul(transposeLast2(a!), g!), b!.shape),
  ],
  flops: ({ inputs: [a], outputs: [y] }) => 2 * y!.size * a!.shape[a!.rank - 1]!,
};
export const matmul = (a: Tensor, b: Tensor): Tensor => apply1(matmulOp, [a, b], {});

interface GemmAttrs extends Attrs {
  transA: boolean;
  transB: boolean;
}
// Gradient rules use this to multiply by a transposed matrix without materialising the transpose.
const gemmOp: OpDef<GemmAttrs> = {
  name: 'gemm',
  infer: ([a, b], { transA, transB }) => {
    if (a!.rank !== 2 || b!.rank !== 2) throw new ShapeError(`gemm: operands must be matrices, got ${formatShape(a!.shape)} and ${formatShape(b!.shape)}`);
    const [m, k] = transA ? [a!.shape[1]!, a!.shape[0]!] : [a!.shape[0]!, a!.shape[1]!];
    const [k2, n] = transB ? [b!.shape[1]!, b!.shape[0]!] : [b!.shape[0]!, b!.shape[1]!];
    if (k !== k2) throw new ShapeError(`gemm: inner dimensions differ: ${formatShape(a!.shape)}${transA ? 'ᵀ' : ''} @ ${formatShape(b!.shape)}${transB ? 'ᵀ' : ''}`);
    return [{ shape: [m, n], dtype: a!.dtype }];
  },
  lower: (emit, inputs, outputs, { transA, transB }) => emit.node('Gemm', inputs, outputs, { transA: transA ? 1 : 0, transB: transB ? 1 : 0 }),
  vjp: ([g], { inputs: [a, b], attrs: { transA, transB } }) => {
    // C = op(A) op(B): dop(A) = G op(B)ᵀ, dop(B) = op(A)ᵀ G.
    const dA = transA ? gemm(b!, g!, { transA: transB, transB: true }) : gemm(g!, b!, { transB: !transB });
    const dB = transB ? gemm(g!, a!, { transA: true, transB: transA }) : gemm(a!, g!, { transA: !transA });
    return [dA, dB];
  },
  flops: ({ inputs: [a], outputs: [y], attrs: { transA } }) => 2 * y!.size * (transA ? a!.shape[0]! : a!.shape[1]!),
};
export function gemm(a: Tensor, b: Tensor, { transA = false, transB = false } = {}): Tensor {
  return apply1(gemmOp, [a, b], { transA, transB });
}

/** y = x Wᵀ + b with W of shape [out, in], as in most checkpoints. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const flat = x.rank === 2 ? x : reshape(x, [-1, x.shape[x.rank - 1]!]);
  const y = gemm(flat, weight, { transB: true });
  const out = x.rank === 2 ? y : reshape(y, [...x.shape.slice(0, -1), weight.shape[0]!]);
  return bias ? add(out, bias) : out;
}
