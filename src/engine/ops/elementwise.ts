// Element-wise ops with numpy broadcasting. Each op carries its own gradient rule.

import { sameShape, type DType } from '../host-tensor.js';
import { type Attrs, type OpDef, type Tensor, ShapeError, apply1, formatShape } from '../graph.js';
import { broadcastAxes, broadcastShapes } from './broadcast.js';
import { reshape, scalarHost } from './shape.js';
import { sum } from './reduce.js';

export type Operand = Tensor | number;

const FLOAT_TYPES: DType[] = ['float32', 'float64'];

export function scalar(like: Tensor, value: number, dtype: DType = like.dtype): Tensor {
  return like.graph.constant(scalarHost(dtype, value));
}

function asTensors(opName: string, a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${opName}: at least one operand must be a tensor`);
  const ta = typeof a === 'number' ? scalar(b as Tensor, a) : a;
  const tb = typeof b === 'number' ? scalar(ta, b) : b;
  if (ta.dtype !== tb.dtype) throw new ShapeError(`${opName}: dtypes differ (${ta.dtype}${formatShape(ta.shape)} and ${tb.dtype}${formatShape(tb.shape)}); cast one first`);
  return [ta, tb];
}

/** Sums `grad` back down to `shape`, undoing a broadcast. */
export function unbroadcast(grad: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(grad.shape, shape)) return grad;
  const axes = broadcastAxes(shape, grad.shape);
  const reduced = axes.length > 0 ? sum(grad, axes, true) : grad;
  return reshape(reduced, shape);
}

function binary(name: string, onnx: string, vjp: OpDef['vjp'], resultDtype?: DType): OpDef {
  return {
    name,
    infer: ([a, b]) => [{ shape: broadcastShapes(name, [a!.shape, b!.shape]), dtype: resultDtype ?? a!.dtype }],
    lower: (emit, inputs, outputs) => emit.node(onnx, inputs, outputs),
    vjp,
    flops: (node) => node.outputs[0]!.size,
  };
}

function unary(name: string, lowerAs: string | ((emit: Parameters<OpDef['lower']>[0], x: string, y: string) => void), vjp: OpDef['vjp'], floatOnly = true): OpDef {
  return {
    name,
    infer: ([x]) => {
      if (floatOnly && !FLOAT_TYPES.includes(x!.dtype)) throw new ShapeError(`${name}: expects a float tensor, got ${x!.dtype}`);
      return [{ shape: [...x!.shape], dtype: x!.dtype }];
    },
    lower: (emit, [x], [y]) => (typeof lowerAs === 'string' ? emit.node(lowerAs, [x!], [y!]) : lowerAs(emit, x!, y!)),
    vjp,
    flops: (node) => node.outputs[0]!.size,
  };
}

const addOp = binary('add', 'Add', ([g], { inputs: [a, b] }) => [unbroadcast(g!, a!.shape), unbroadcast(g!, b!.shape)]);
const subOp = binary('sub', 'Sub', ([g], { inputs: [a, b] }) => [unbroadcast(g!, a!.shape), unbroadcast(neg(g!), b!.shape)]);
const mulOp = binary('mul', 'Mul', ([g], { inputs: [a, b] }) => [unbroadcast(mul(g!, b!), a!.shape), unbroadcast(mul(g!, a!), b!.shape)]);
const divOp = binary('div', 'Div', ([g], { inputs: [a, b], outputs: [y] }) => [
  unbroadcast(div(g!, b!), a!.shape),
  unbroadcast(neg(div(mul(g!, y!), b!)), b!.shape),
]);
const powOp = binary('pow', 'Pow', ([g], { inputs: [a, b], outputs: [y] }) => [
  unbroadcast(mul(g!, mul(b!, pow(a!, sub(b!, 1)))), a!.shape),
  b!.kind === 'const' ? null : unbroadcast(mul(g!, mul(y!, log(a!))), b!.shape),
]);
const maximumOp = binary('maximum', 'Max', ([g], { inputs: [a, b] }) => {
  const pickA = cast(greaterOrEqual(a!, b!), g!.dtype);
  return [unbroadcast(mul(g!, pickA), a!.shape), unbroadcast(mul(g!, sub(1, pickA)), b!.shape)];
});
const minimumOp = binary('minimum', 'Min', ([g], { inputs: [a, b] }) => {
  const pickA = cast(lessOrEqual(a!, b!), g!.dtype);
  return [unbroadcast(mul(g!, pickA), a!.shape), unbroadcast(mul(g!, sub(1, pickA)), b!.shape)];
});
const comparisonOps = Object.fromEntries(
  (['Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Equal'] as const).map((onnx) => [onnx, binary(onnx.toLowerCase(), onnx, undefined, 'bool')]),
);
const andOp = binary('and', 'And', undefined, 'bool');

export const add = (a: Operand, b: Operand): Tensor => apply1(addOp, asTensors('add', a, b), {});
export const sub = (a: Operand, b: Operand): Tensor => apply1(subOp, asTensors('sub', a, b), {});
export const mul = (a: Operand, b: Operand): Tensor => apply1(mulOp, asTensors('mul', a, b), {});
export const div = (a: Operand, b: Operand): Tensor => apply1(divOp, asTensors('div', a, b), {});
export const pow = (a: Operand, b: Operand): Tensor => apply1(powOp, asTensors('pow', a, b), {});
export const maximum = (a: Operand, b: Operand): Tensor => apply1(maximumOp, asTensors('maximum', a, b), {});
export const minimum = (a: Operand, b: Operand): Tensor => apply1(minimumOp, asTensors('minimum', a, b), {});
export const greater = (a: Operand, b: Operand): Tensor => apply1(comparisonOps.Greater!, asTensors('greater', a, b), {});
export const less = (a: Operand, b: Operand): Tensor => apply1(comparisonOps.Less!, asTensors('less', a, b), {});
export const greaterOrEqual = (a: Operand, b: Operand): Tensor => apply1(comparisonOps.GreaterOrEqual!, asTensors('greaterOrEqual', a, b), {});
export const lessOrEqual = (a: Operand, b: Operand): Tensor => apply1(comparisonOps.LessOrEqual!, asTensors('lessOrEqual', a, b), {});
export const equal = (a: Operand, b: Operand): Tensor => apply1(comparisonOps.Equal!, asTensors('equal', a, b), {});
export const and = (a: Tensor, b: Tensor): Tensor => apply1(andOp, [a, b], {});

const negOp = unary('neg', 'Neg', ([g]) => [neg(g!)], false);
const expOp = unary('exp', 'Exp', ([g], { outputs: [y] }) => [mul(g!, y!)]);
const logOp = unary('log', 'Log', ([g], { inputs: [x] }) => [div(g!, x!)]);
const sqrtOp = unary('sqrt', 'Sqrt', ([g], { outputs: [y] }) => [div(mul(g!, 0.5), y!)]);
const rsqrtOp = unary(
  'rsqrt',
  (emit, x, y) => {
    const root = emit.temp('sqrt');
    emit.node('Sqrt', [x], [root]);
    emit.node('Reciprocal', [root], [y]);
  },
  ([g], { outputs: [y] }) => [mul(g!, mul(pow(y!, 3), -0.5))],
);
const absOp = unary('abs', 'Abs', ([g], { inputs: [x] }) => [mul(g!, sign(x!))], false);
const signOp = unary('sign', 'Sign', () => [null], false);
const sinOp = unary('sin', 'Sin', ([g], { inputs: [x] }) => [mul(g!, cos(x!))]);
const cosOp = unary('cos', 'Cos', ([g], { inputs: [x] }) => [neg(mul(g!, sin(x!)))]);
const tanhOp = unary('tanh', 'Tanh', ([g], { outputs: [y] }) => [mul(g!, sub(1, mul(y!, y!)))]);
const sigmoidOp = unary('sigmoid', 'Sigmoid', ([g], { outputs: [y] }) => [mul(g!, mul(y!, sub(1, y!)))]);
// Also returns the sigmoid it multiplies by: the gradient reads it instead of recomputing it from x,
// so x need not be kept for the backward pass (the sigmoid is kept in its place).
const siluOp: OpDef = {
  name: 'silu',
  infer: ([x]) => {
    if (!FLOAT_TYPES.includes(x!.dtype)) throw new ShapeError(`silu: expects a float tensor, got ${x!.dtype}`);
    return [{ shape: [...x!.shape], dtype: x!.dtype }, { shape: [...x!.shape], dtype: x!.dtype }];
  },
  lower: (emit, [x], [y, s]) => {
    emit.node('Sigmoid', [x!], [s!]);
    emit.node('Mul', [x!, s!], [y!]);
  },
  // d/dx x*s(x) = s + x*s*(1-s) = s + y*(1-s) with y = x*s the output: one pass fewer over the tensor
  vjp: ([g], { outputs: [y, s] }) => [g ? mul(g, add(s!, mul(y!, sub(1, s!)))) : null],
  flops: (node) => node.outputs[0]!.size,
};
const erfOp = unary('erf', 'Erf', ([g], { inputs: [x] }) => [mul(g!, mul(exp(mul(mul(x!, x!), -1)), 2 / Math.sqrt(Math.PI)))]);

export const neg = (x: Tensor): Tensor => apply1(negOp, [x], {});
export const exp = (x: Tensor): Tensor => apply1(expOp, [x], {});
export const log = (x: Tensor): Tensor => apply1(logOp, [x], {});
export const sqrt = (x: Tensor): Tensor => apply1(sqrtOp, [x], {});
export const rsqrt = (x: Tensor): Tensor => apply1(rsqrtOp, [x], {});
export const abs = (x: Tensor): Tensor => apply1(absOp, [x], {});
export const sign = (x: Tensor): Tensor => apply1(signOp, [x], {});
export const sin = (x: Tensor): Tensor => apply1(sinOp, [x], {});
export const cos = (x: Tensor): Tensor => apply1(cosOp, [x], {});
export const tanh = (x: Tensor): Tensor => apply1(tanhOp, [x], {});
export const sigmoid = (x: Tensor): Tensor => apply1(sigmoidOp, [x], {});
export const silu = (x: Tensor): Tensor => x.graph.apply(siluOp, [x], {})[0]!;
export const erf = (x: Tensor): Tensor => apply1(erfOp, [x], {});
export const square = (x: Tensor): Tensor => mul(x, x);

/** GELU with the exact erf form. */
export function gelu(x: Tensor): Tensor {
  return mul(mul(x, 0.5), add(1, erf(mul(x, Math.SQRT1_2))));
}

interface ClampAttrs extends Attrs {
  min: number;
  max: number;
}
const clampOp: OpDef<ClampAttrs> = {
  name: 'clamp',
  infer: ([x], { min, max }) => {
    if (!(min <= max)) throw new ShapeError(`clamp: min ${min} is greater than max ${max}`);
    return [{ shape: [...x!.shape], dtype: x!.dtype }];
  },
  lower: (emit, [x], [y], { min, max }, node) => {
    const dtype = node.inputs[0]!.dtype;
    const bound = (v: number): string => emit.constant(scalarHost(dtype, v));
    emit.node('Clip', [x!, bound(min), bound(max)], [y!]);
  },
  vjp: ([g], { inputs: [x], attrs: { min, max } }) => [mul(g!, cast(and(greaterOrEqual(x!, min), lessOrEqual(x!, max)), g!.dtype))],
  flops: (node) => node.outputs[0]!.size,
};
export const clamp = (x: Tensor, min = -Infinity, max = Infinity): Tensor => apply1(clampOp, [x], { min, max });

const whereOp: OpDef = {
  name: 'where',
  infer: ([c, a, b]) => {
    if (c!.dtype !== 'bool') throw new ShapeError(`where: condition must be bool, got ${c!.dtype}`);
    if (a!.dtype !== b!.dtype) throw new ShapeError(`where: branches have different dtypes ${a!.dtype} and ${b!.dtype}`);
    return [{ shape: broadcastShapes('where', [c!.shape, a!.shape, b!.shape]), dtype: a!.dtype }];
  },
  lower: (emit, inputs, outputs) => emit.node('Where', inputs, outputs),
  vjp: ([g], { inputs: [c, a, b] }) => {
    const zero = scalar(g!, 0);
    return [null, unbroadcast(where(c!, g!, zero), a!.shape), unbroadcast(where(c!, zero, g!), b!.shape)];
  },
  flops: (node) => node.outputs[0]!.size,
};
export function where(condition: Tensor, a: Operand, b: Operand): Tensor {
  const [ta, tb] = asTensors('where', a, b);
  return apply1(whereOp, [condition, ta, tb], {});
}

const ONNX_DTYPE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 };
interface CastAttrs extends Attrs {
  to: DType;
}
const castOp: OpDef<CastAttrs> = {
  name: 'cast',
  infer: ([x], { to }) => [{ shape: [...x!.shape], dtype: to }],
  lower: (emit, [x], [y], { to }) => emit.node('Cast', [x!], [y!], { to: ONNX_DTYPE[to] }),
  vjp: ([g], { inputs: [x] }) => [FLOAT_TYPES.includes(x!.dtype) ? cast(g!, x!.dtype) : null],
};
export function cast(x: Tensor, to: DType): Tensor {
  return x.dtype === to ? x : apply1(castOp, [x], { to });
}
