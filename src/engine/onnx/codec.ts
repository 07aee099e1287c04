// ONNX models as plain objects, and their protobuf encoding. Exported models are standalone
// (weights as initializers) and run on any ONNX Runtime; decoding reads models made elsewhere too.

import { type AnyTypedArray, type DType, type HostTensor, allocate, bytesPerElement, numel } from '../host-tensor.js';
import { AttributeType, ModelProto } from './schema.js';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

export type OnnxAttribute = number | string | number[] | string[] | HostTensor;

export type OnnxAttributeType = 'float' | 'int' | 'string' | 'tensor' | 'floats' | 'ints' | 'strings';

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes: Record<string, OnnxAttribute>;
  /**
   * Declared attribute types, where the value alone is ambiguous: a whole-number float (2 would be
   * written as an INT) or an empty list. The decoder fills it in so that models read from files are
   * written back with the same types; without an entry the type is inferred from the value.
   */
  attributeTypes?: Record<string, OnnxAttributeType>;
}

export interface OnnxValueInfo {
  name: string;
  dtype: DType;
  /** Symbolic dimensions are strings. */
  shape: (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: Map<string, HostTensor>;
}

export interface OnnxModel {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  graph: OnnxGraph;
  metadata: Record<string, string>;
}

const DTYPE_CODES: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 };
const FLOAT16_CODE = 10;
const CODE_DTYPES = new Map(Object.entries(DTYPE_CODES).map(([dtype, code]) => [code, dtype as DType]));

// Attribute names whose values are floats even when they happen to be whole numbers.
const FLOAT_ATTRIBUTES = new Set(['epsilon', 'alpha', 'beta', 'gamma', 'momentum', 'ratio', 'extrapolation_value', 'cubic_coeff_a']);

export function dtypeCode(dtype: DType): number {
  return DTYPE_CODES[dtype];
}

function isHostTensor(value: unknown): value is HostTensor {
  return typeof value === 'object' && value !== null && 'dtype' in value && 'data' in value && 'shape' in value;
}

/**
 * Initializers too large to keep inline, as ONNX external data: one data file (`location`, beside
 * the model) that every graph encoded with it shares. A tensor (by identity) is placed once, however
 * many graphs hold it, so graphs cut from one model add nothing; `takeNew` hands over the bytes
 * placed since its last call, to append to the file.
 */
export class ExternalData {
  private readonly placed = new Map<HostTensor, number>();
  private fresh: Uint8Array[] = [];
  /** Bytes placed so far: the data file's length once everything taken is appended. */
  length = 0;

  constructor(readonly location: string, readonly minBytes = 1024) {}

  /** The offset of `tensor`'s bytes in the file, placing them at its end the first time. */
  place(tensor: HostTensor, bytes: Uint8Array): number {
    let offset = this.placed.get(tensor);
    if (offset === undefined) {
      offset = this.length;
      this.placed.set(tensor, offset);
      this.fresh.push(bytes);
      this.length += bytes.length;
    }
    return offset;
  }

  takeNew(): Uint8Array[] {
    const taken = this.fresh;
    this.fresh = [];
    return taken;
  }
}

function tensorToProto(name: string, tensor: HostTensor, external?: ExternalData): object {
  const data = tensor.data;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const base = { name, dims: tensor.shape, data_type: DTYPE_CODES[tensor.dtype] };
  if (!external || bytes.length < external.minBytes) return { ...base, raw_data: bytes };
  const entries = { location: external.location, offset: String(external.place(tensor, bytes)), length: String(bytes.length) };
  return { ...base, data_location: 1, external_data: Object.entries(entries).map(([key, value]) => ({ key, value })) };
}

function attributeToProto(name: string, value: OnnxAttribute, declared?: OnnxAttributeType): object {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    const isFloat = declared === 'float' || (declared !== 'int' && (FLOAT_ATTRIBUTES.has(name) || !Number.isInteger(value)));
    return isFloat ? { name, type: AttributeType.FLOAT, f: value } : { name, type: AttributeType.INT, i: value };
  }
  if (isHostTensor(value)) return { name, type: AttributeType.TENSOR, t: tensorToProto('', value) };
  // An empty list is an INTS unless declared otherwise (int lists are by far the most common).
  const isStrings = value.length > 0 ? value.every((v) => typeof v === 'string') : declared === 'strings';
  if (isStrings) return { name, type: AttributeType.STRINGS, strings: (value as string[]).map((v) => new TextEncoder().encode(v)) };
  const numbers = value as number[];
  const isFloats = declared === 'floats' || (declared !== 'ints' && (FLOAT_ATTRIBUTES.has(name) || numbers.some((v) => !Number.isInteger(v))));
  return isFloats ? { name, type: AttributeType.FLOATS, floats: numbers } : { name, type: AttributeType.INTS, ints: numbers };
}

function valueInfoToProto(info: OnnxValueInfo): object {
  return {
    name: info.name,
    type: { tensor_type: { elem_type: DTYPE_CODES[info.dtype], shape: { dim: info.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

export function encodeModel(model: OnnxModel): Uint8Array {
  return encodeWith(model);
}

/**
 * The model with every initializer of at least `external.minBytes` in its data file, as exporters
 * write models over protobuf's 2 GB limit; append `external.takeNew()` to the file.
 */
export function encodeModelWithExternalData(model: OnnxModel, external: ExternalData): Uint8Array {
  return encodeWith(model, external);
}

function encodeWith(model: OnnxModel, external?: ExternalData): Uint8Array {
  const message = ModelProto.fromObject({
    ir_version: model.irVersion,
    opset_import: model.opsets,
    producer_name: model.producerName,
    producer_version: model.producerVersion,
    metadata_props: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.graph.name,
      node: model.graph.nodes.map((n) => ({
        input: n.inputs,
        output: n.outputs,
        name: n.name ?? '',
        op_type: n.opType,
        domain: n.domain ?? '',
        attribute: Object.entries(n.attributes).map(([name, value]) => attributeToProto(name, value, n.attributeTypes?.[name])),
      })),
      initializer: [...model.graph.initializers].map(([name, t]) => tensorToProto(name, t, external)),
      input: model.graph.inputs.map(valueInfoToProto),
      output: model.graph.outputs.map(valueInfoToProto),
    },
  });
  return ModelProto.encode(message).finish();
}

/* Decoding. protobufjs gives int64 as Long objects; these helpers turn them into numbers. */

type Decoded = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Reads `length` bytes at `offset` of an external data file named `location` (relative to the model). */
export type ExternalDataReader = (location: string, offset: number, length: number | undefined, where: string) => Uint8Array;

function externalBytes(proto: Decoded, where: string, read: ExternalDataReader | undefined): Uint8Array {
  const entries = new Map<string, string>((proto.external_data ?? []).map((e: Decoded) => [e.key, e.value]));
  const location = entries.get('location');
  if (!location) throw new Error(`${where}: external data without a location`);
  if (!read) throw new Error(`${where}: weights are in the external file '${location}', which this reader was not given`);
  const length = entries.has('length') ? Number(entries.get('length')) : undefined;
  return read(location, Number(entries.get('offset') ?? 0), length, where);
}

function protoToTensor(proto: Decoded, where: string, read?: ExternalDataReader): HostTensor {
  const shape = (proto.dims ?? []).map(toNumber);
  const code = proto.data_type as number;
  const raw: Uint8Array | undefined = proto.data_location === 1
    ? externalBytes(proto, where, read)
    : proto.raw_data && proto.raw_data.length > 0 ? proto.raw_data : undefined;
  if (!shape.every((size: number) => Number.isSafeInteger(size) && size >= 0)) throw new Error(`${where}: dims [${shape}] are not sizes`);
  // The size the dims claim is checked against the data present before anything of that size is allocated.
  const count = numel(shape);
  if (code === FLOAT16_CODE) {
    const present = raw ? raw.length / 2 : (proto.int32_data ?? []).length;
    if (present !== count) throw new Error(`${where}: holds ${present} float16 values, shape [${shape}] needs ${count}`);
    const halves = raw ? new Uint16Array(raw.slice().buffer) : Uint16Array.from(proto.int32_data ?? []);
    return { dtype: 'float32', shape, data: Float32Array.from(halves, halfToFloat) };
  }
  const dtype = CODE_DTYPES.get(code);
  if (!dtype) throw new Error(`${where}: tensor data type ${code} is not supported`);
  if (raw) {
    if (raw.length !== count * bytesPerElement(dtype)) throw new Error(`${where}: raw data has ${raw.length} bytes, shape [${shape}] of ${dtype} needs ${count * bytesPerElement(dtype)}`);
    const data = allocate(dtype, shape);
    new Uint8Array(data.buffer).set(raw);
    return { dtype, shape, data } as HostTensor;
  }
  const fields: Record<DType, string> = { float32: 'float_data', float64: 'double_data', int64: 'int64_data', int32: 'int32_data', bool: 'int32_data' };
  const values: unknown[] = proto[fields[dtype]] ?? [];
  if (values.length !== count) throw new Error(`${where}: has ${values.length} values, shape [${shape}] needs ${count}`);
  const data = allocate(dtype, shape);
  values.forEach((v, i) => ((data as AnyTypedArray)[i] = (dtype === 'int64' ? BigInt(toNumber(v)) : toNumber(v)) as never));
  return { dtype, shape, data } as HostTensor;
}

function protoToAttribute(proto: Decoded, where: string): OnnxAttribute {
  const decoder = new TextDecoder();
  switch (proto.type as number) {
    case AttributeType.FLOAT: return proto.f ?? 0;
    case AttributeType.INT: return toNumber(proto.i ?? 0);
    case AttributeType.STRING: return decoder.decode(proto.s);
    case AttributeType.TENSOR: return protoToTensor(proto.t, `${where} attribute '${proto.name}'`);
    case AttributeType.FLOATS: return [...(proto.floats ?? [])];
    case AttributeType.INTS: return (proto.ints ?? []).map(toNumber);
    case AttributeType.STRINGS: return (proto.strings ?? []).map((s: Uint8Array) => decoder.decode(s));
    default: throw new Error(`${where}: attribute '${proto.name}' has unsupported type ${proto.type}`);
  }
}

const ATTRIBUTE_TYPE_NAMES: Partial<Record<number, OnnxAttributeType>> = {
  [AttributeType.FLOAT!]: 'float', [AttributeType.INT!]: 'int', [AttributeType.STRING!]: 'string', [AttributeType.TENSOR!]: 'tensor',
  [AttributeType.FLOATS!]: 'floats', [AttributeType.INTS!]: 'ints', [AttributeType.STRINGS!]: 'strings',
};

function protoToValueInfo(proto: Decoded): OnnxValueInfo {
  const tensorType = proto.type?.tensor_type;
  const dtype = CODE_DTYPES.get(tensorType?.elem_type) ?? 'float32';
  const dims: Decoded[] = tensorType?.shape?.dim ?? [];
  return { name: proto.name, dtype, shape: dims.map((d) => (d.dim_param ? String(d.dim_param) : toNumber(d.dim_value ?? 0))) };
}

/** Parses an ONNX file's bytes; `source` names the file in error messages; `readExternal` supplies weights kept in external data files. */
export function decodeModel(bytes: Uint8Array, source = 'model', readExternal?: ExternalDataReader): OnnxModel {
  let proto: Decoded;
  try {
    proto = ModelProto.decode(bytes) as unknown as Decoded;
  } catch (error) {
    throw new Error(`${source}: not a valid ONNX model (${(error as Error).message})`);
  }
  if (!proto.graph) throw new Error(`${source}: the ONNX model has no graph`);
  const g = proto.graph;
  const initializers = new Map<string, HostTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name, protoToTensor(t, `${source}: initializer '${t.name}'`, readExternal));
  return {
    irVersion: toNumber(proto.ir_version ?? 0),
    opsets: (proto.opset_import ?? []).map((o: Decoded) => ({ domain: o.domain ?? '', version: toNumber(o.version) })),
    producerName: proto.producer_name ?? '',
    producerVersion: proto.producer_version ?? '',
    metadata: Object.fromEntries((proto.metadata_props ?? []).map((e: Decoded) => [e.key, e.value])),
    graph: {
      name: g.name ?? '',
      nodes: (g.node ?? []).map((n: Decoded) => ({
        opType: n.op_type,
        inputs: [...(n.input ?? [])],
        outputs: [...(n.output ?? [])],
        name: n.name || undefined,
        domain: n.domain || undefined,
        attributes: Object.fromEntries((n.attribute ?? []).map((a: Decoded) => [a.name, protoToAttribute(a, `${source}: node '${n.name || n.op_type}'`)])),
        attributeTypes: Object.fromEntries((n.attribute ?? []).map((a: Decoded) => [a.name, ATTRIBUTE_TYPE_NAMES[a.type as number]])),
      })),
      inputs: (g.input ?? []).filter((i: Decoded) => !initializers.has(i.name)).map(protoToValueInfo),
      outputs: (g.output ?? []).map(protoToValueInfo),
      initializers,
    },
  };
}
