// A tensor that lives on the host: a typed array and its shape, row-major.
// This is the currency between the engine, checkpoints, datasets and samplers.

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : Uint8Array;

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface HostTensor<D extends DType = DType> {
  dtype: D;
  shape: number[];
  data: TypedArrayOf<D>;
}

/** Whether two shapes are the same, axis by axis. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, axis) => size === b[axis]);
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function allocate<D extends DType>(dtype: D, shape: readonly number[]): TypedArrayOf<D> {
  const n = numel(shape);
  switch (dtype) {
    case 'float32': return new Float32Array(n) as TypedArrayOf<D>;
    case 'float64': return new Float64Array(n) as TypedArrayOf<D>;
    case 'int64': return new BigInt64Array(n) as TypedArrayOf<D>;
    case 'int32': return new Int32Array(n) as TypedArrayOf<D>;
    case 'bool': return new Uint8Array(n) as TypedArrayOf<D>;
  }
  throw new Error(`unknown dtype '${String(dtype)}'`);
}

export function hostTensor<D extends DType>(dtype: D, shape: readonly number[], data?: TypedArrayOf<D>): HostTensor<D> {
  const buffer = data ?? allocate(dtype, shape);
  if (buffer.length !== numel(shape)) {
    throw new Error(`hostTensor: data has ${buffer.length} elements but shape [${shape.join(', ')}] needs ${numel(shape)}`);
  }
  return { dtype, shape: [...shape], data: buffer };
}

export function float32(shape: readonly number[], data?: Float32Array | number[]): HostTensor<'float32'> {
  return hostTensor('float32', shape, data === undefined ? undefined : Float32Array.from(data));
}

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float32': case 'int32': return 4;
    case 'float64': case 'int64': return 8;
    case 'bool': return 1;
  }
}

/** Named parameters of a model: dotted names ("enc.0.conv.weight") to host tensors. */
export type ParamTree = Map<string, HostTensor<'float32'>>;

export function cloneParams(params: ParamTree): ParamTree {
  const out: ParamTree = new Map();
  for (const [name, t] of params) out.set(name, { dtype: t.dtype, shape: [...t.shape], data: t.data.slice() });
  return out;
}

export function paramCount(params: ParamTree): number {
  let n = 0;
  for (const t of params.values()) n += t.data.length;
  return n;
}
