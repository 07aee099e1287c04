// The safetensors format (https://github.com/huggingface/safetensors), written from its description:
//
//   [8 bytes]  N, the header length: unsigned 64-bit little-endian
//   [N bytes]  UTF-8 JSON object: tensor name -> { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] },
//              plus an optional "__metadata__" entry mapping strings to strings
//   [rest]     the tensors' raw little-endian bytes; offsets are relative to the start of this section,
//              and the tensors cover it exactly, without gaps or overlaps.
//
// We pad the header with trailing spaces so that the data section starts at a multiple of 8 bytes.
// This module works on bytes, wherever they come from; safetensors-file.ts reads and writes files.

import { CheckpointError } from './checkpoint-error.js';
import { type AnyTypedArray, type DType, type HostTensor, numel } from './host-tensor.js';

export type SafetensorsMetadata = Record<string, string>;

export interface SafetensorsContents {
  /** Tensors in the order of their data in the file. */
  tensors: Map<string, HostTensor>;
  metadata: SafetensorsMetadata;
}

const METADATA_KEY = '__metadata__';
export const HEADER_LENGTH_BYTES = 8;
const DATA_ALIGNMENT = 8;

/** The on-disk dtype we write for each host dtype. */
const WRITTEN_DTYPE: Record<DType, string> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  bool: 'BOOL',
};

interface StoredDType {
  bytesPerElement: number;
  hostDType: DType;
  /** Converts `raw` (which may be unaligned and may alias a larger buffer) into freshly allocated host data. */
  decode(raw: Uint8Array): AnyTypedArray;
}

type TypedArrayConstructor<T> = { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number };

/** A typed array over a private, aligned copy of `raw`. (Not raw.slice(): on a Node Buffer that is a view.) */
function copyAs<T>(raw: Uint8Array, Type: TypedArrayConstructor<T>): T {
  return new Type(new Uint8Array(raw).buffer);
}

/** Narrow integer dtypes widen to int32, the smallest integer host dtype. */
function widenToInt32(narrow: Int8Array | Uint8Array | Int16Array | Uint16Array): Int32Array {
  return Int32Array.from(narrow);
}

let halfToFloatTable: Float32Array | undefined;

/** Every IEEE half-precision bit pattern's value: a 256 KiB table makes conversion a lookup. */
function halfToFloat(): Float32Array {
  if (halfToFloatTable) return halfToFloatTable;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    let magnitude: number;
    if (exponent === 0) magnitude = mantissa * 2 ** -24; // zero and subnormals
    else if (exponent === 0x1f) magnitude = mantissa === 0 ? Infinity : NaN;
    else magnitude = (1 + mantissa / 1024) * 2 ** (exponent - 15);
    table[bits] = sign * magnitude;
  }
  halfToFloatTable = table;
  return table;
}

/** Dtypes we read. Half precision becomes float32 and narrow integers int32, since the engine computes in those. */
const READABLE_DTYPES: Record<string, StoredDType> = {
  F64: { bytesPerElement: 8, hostDType: 'float64', decode: (raw) => copyAs(raw, Float64Array) },
  F32: { bytesPerElement: 4, hostDType: 'float32', decode: (raw) => copyAs(raw, Float32Array) },
  F16: {
    bytesPerElement: 2,
    hostDType: 'float32',
    decode: (raw) => {
      const halves = copyAs(raw, Uint16Array);
      const table = halfToFloat();
      const out = new Float32Array(halves.length);
      for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]];
      return out;
    },
  },
  BF16: {
    bytesPerElement: 2,
    hostDType: 'float32',
    decode: (raw) => {
      // bfloat16 is the top half of a float32, so the conversion is exact.
      const halves = copyAs(raw, Uint16Array);
      const out = new Float32Array(halves.length);
      const outBits = new Uint32Array(out.buffer);
      for (let i = 0; i < halves.length; i++) outBits[i] = halves[i] << 16;
      return out;
    },
  },
  I64: { bytesPerElement: 8, hostDType: 'int64', decode: (raw) => copyAs(raw, BigInt64Array) },
  I32: { bytesPerElement: 4, hostDType: 'int32', decode: (raw) => copyAs(raw, Int32Array) },
  I16: { bytesPerElement: 2, hostDType: 'int32', decode: (raw) => widenToInt32(copyAs(raw, Int16Array)) },
  U16: { bytesPerElement: 2, hostDType: 'int32', decode: (raw) => widenToInt32(copyAs(raw, Uint16Array)) },
  I8: { bytesPerElement: 1, hostDType: 'int32', decode: (raw) => widenToInt32(copyAs(raw, Int8Array)) },
  U8: { bytesPerElement: 1, hostDType: 'int32', decode: (raw) => widenToInt32(raw) },
  BOOL: { bytesPerElement: 1, hostDType: 'bool', decode: (raw) => new Uint8Array(raw) },
};

export function assertLittleEndianHost(): void {
  // Typed arrays use the host's byte order; every platform JavaScript runs on in practice is little-endian.
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new Error('safetensors: only little-endian hosts are supported');
}

/** Serialises tensors (in the map's order) and optional string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: Map<string, HostTensor>, metadata?: SafetensorsMetadata): Uint8Array {
  assertLittleEndianHost();
  const headerEntries: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new TypeError(`encodeSafetensors: metadata '${key}' must be a string, got ${typeof value}`);
    }
    headerEntries.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  let dataLength = 0;
  for (const [name, tensor] of tensors) {
    if (name === METADATA_KEY) throw new Error(`encodeSafetensors: '${METADATA_KEY}' is reserved and cannot name a tensor`);
    const dtype = WRITTEN_DTYPE[tensor.dtype];
    if (dtype === undefined) throw new Error(`encodeSafetensors: tensor '${name}' has unknown dtype '${String(tensor.dtype)}'`);
    if (tensor.data.length !== numel(tensor.shape)) {
      throw new Error(`encodeSafetensors: tensor '${name}' has ${tensor.data.length} elements but shape [${tensor.shape.join(', ')}]`);
    }
    const begin = dataLength;
    dataLength += tensor.data.byteLength;
    // Built by hand rather than through a JSON object so that integer-like names ("0", "1") keep their order.
    headerEntries.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape: tensor.shape, data_offsets: [begin, dataLength] })}`);
  }

  const header = new TextEncoder().encode(`{${headerEntries.join(',')}}`);
  const paddedHeaderLength = Math.ceil((HEADER_LENGTH_BYTES + header.length) / DATA_ALIGNMENT) * DATA_ALIGNMENT - HEADER_LENGTH_BYTES;
  const dataStart = HEADER_LENGTH_BYTES + paddedHeaderLength;
  const bytes = new Uint8Array(dataStart + dataLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(paddedHeaderLength), true);
  bytes.set(header, HEADER_LENGTH_BYTES);
  bytes.fill(0x20, HEADER_LENGTH_BYTES + header.length, dataStart);
  let offset = dataStart;
  for (const tensor of tensors.values()) {
    bytes.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), offset);
    offset += tensor.data.byteLength;
  }
  return bytes;
}

export interface TensorEntry {
  name: string;
  storedDType: string;
  shape: number[];
  /** Byte range within the data section. */
  begin: number;
  end: number;
}

export interface ParsedHeader {
  entries: TensorEntry[];
  metadata: SafetensorsMetadata;
}

/** Reads the header length and checks that the header fits in a file of `fileSize` bytes. */
export function readHeaderLength(first8: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < HEADER_LENGTH_BYTES) {
    throw new CheckpointError(source, `truncated file: ${fileSize} bytes, too short to hold the 8-byte header length`);
  }
  const headerLength = new DataView(first8.buffer, first8.byteOffset, HEADER_LENGTH_BYTES).getBigUint64(0, true);
  const available = fileSize - HEADER_LENGTH_BYTES;
  if (headerLength > BigInt(available)) {
    throw new CheckpointError(source, `truncated file or not safetensors: header length ${headerLength} exceeds the ${available} bytes after it`);
  }
  return Number(headerLength);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Parses and validates the JSON header against the size of the data section that follows it. */
export function parseHeader(headerBytes: Uint8Array, dataLength: number, source: string): ParsedHeader {
  const bad = (problem: string) => new CheckpointError(source, `bad header: ${problem}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw bad('not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw bad(`not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(header)) throw bad('expected a JSON object mapping tensor names to their dtype, shape and data_offsets');

  const metadata: SafetensorsMetadata = {};
  const entries: TensorEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
        throw bad(`'${METADATA_KEY}' must map strings to strings`);
      }
      Object.assign(metadata, value);
      continue;
    }
    if (!isPlainObject(value)) throw bad(`tensor '${name}' must be an object with dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string') throw bad(`tensor '${name}' has no string "dtype"`);
    if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`tensor '${name}' has no "shape" of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      throw bad(`tensor '${name}' has no "data_offsets" [begin, end] of non-negative integers`);
    }
    const stored = READABLE_DTYPES[dtype];
    if (stored === undefined) {
      throw new CheckpointError(source, `unknown dtype '${dtype}' for tensor '${name}' (supported: ${Object.keys(READABLE_DTYPES).join(', ')})`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) throw bad(`tensor '${name}' has data_offsets [${begin}, ${end}] that end before they begin`);
    const expectedBytes = numel(shape) * stored.bytesPerElement;
    if (end - begin !== expectedBytes) {
      throw bad(`tensor '${name}' has ${end - begin} bytes of data but shape [${shape.join(', ')}] of ${dtype} needs ${expectedBytes}`);
    }
    if (end > dataLength) {
      throw new CheckpointError(source, `truncated file: tensor '${name}' ends at byte ${end} of the data section but only ${dataLength} bytes are present`);
    }
    entries.push({ name, storedDType: dtype, shape: shape as number[], begin, end });
  }

  // Key order in the parsed object is not file order (JavaScript puts integer-like keys first), so check coverage by offset.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: TensorEntry | undefined;
  for (const entry of entries) {
    if (entry.begin < covered) throw bad(`tensors '${previous!.name}' and '${entry.name}' overlap`);
    if (entry.begin > covered) throw bad(`${entry.begin - covered} bytes before tensor '${entry.name}' belong to no tensor`);
    covered = entry.end;
    previous = entry;
  }
  if (covered !== dataLength) throw bad(`${dataLength - covered} bytes after the last tensor belong to no tensor`);
  return { entries, metadata };
}

export function hostTensorOf(entry: TensorEntry, raw: Uint8Array): HostTensor {
  const stored = READABLE_DTYPES[entry.storedDType];
  return { dtype: stored.hostDType, shape: entry.shape, data: stored.decode(raw) } as HostTensor;
}

/**
 * Parses safetensors bytes. `sourceName` (usually the file path) starts every error message.
 * Half-precision tensors come back as float32 and narrow integers as int32.
 */
export function decodeSafetensors(bytes: Uint8Array, sourceName: string): SafetensorsContents {
  assertLittleEndianHost();
  const headerLength = readHeaderLength(bytes.subarray(0, HEADER_LENGTH_BYTES), bytes.length, sourceName);
  const dataStart = HEADER_LENGTH_BYTES + headerLength;
  const { entries, metadata } = parseHeader(bytes.subarray(HEADER_LENGTH_BYTES, dataStart), bytes.length - dataStart, sourceName);
  const tensors = new Map<string, HostTensor>();
  for (const entry of entries) tensors.set(entry.name, hostTensorOf(entry, bytes.subarray(dataStart + entry.begin, dataStart + entry.end)));
  return { tensors, metadata };
}
