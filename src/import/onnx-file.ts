// Reading an ONNX file made elsewhere: the graph and, where the exporter kept the weights outside
// it (models over protobuf's 2 GB limit), the external data files beside it. Every way the files
// can be wrong is one error naming the file and what is wrong with it.

import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { type ExternalDataReader, type OnnxModel, decodeModel } from '../engine/onnx/codec.js';
import { InputError } from '../engine/input-error.js';

export class ImportError extends InputError {
  override name = 'ImportError';
}

export interface OnnxFile {
  path: string;
  model: OnnxModel;
  /** External data files the weights were read from, relative to the model's folder. */
  externalFiles: string[];
  /** Bytes of the model file and its external data together. */
  bytes: number;
}

/** Reads byte ranges of the external data files of the model at `modelPath`, keeping each file open once. */
function externalReader(modelPath: string, used: Map<string, { fd: number; size: number }>): ExternalDataReader {
  const folder = dirname(modelPath);
  return (location, offset, length, where) => {
    if (isAbsolute(location) || normalize(location).startsWith('..')) throw new ImportError(`${where}: external data location '${location}' points outside the model's folder`);
    let file = used.get(location);
    if (!file) {
      const path = join(folder, location);
      if (!existsSync(path)) throw new ImportError(`${where}: external data file '${location}' is missing (expected beside ${basename(modelPath)})`);
      const fd = openSync(path, 'r');
      file = { fd, size: fstatSync(fd).size };
      used.set(location, file);
    }
    const size = length ?? file.size - offset;
    if (!(offset >= 0) || !(size >= 0) || offset + size > file.size) {
      throw new ImportError(`${where}: reads bytes ${offset}..${offset + size} of '${location}', which has ${file.size} bytes (truncated or not this model's data file?)`);
    }
    const bytes = new Uint8Array(size);
    readSync(file.fd, bytes, 0, size, offset);
    return bytes;
  };
}

export function readOnnxFile(path: string): OnnxFile {
  if (!existsSync(path)) throw new ImportError(`${path}: no such file`);
  if (!statSync(path).isFile()) throw new ImportError(`${path}: not a file`);
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new ImportError(`${path}: the file is empty`);
  const used = new Map<string, { fd: number; size: number }>();
  let model: OnnxModel;
  try {
    model = decodeModel(bytes, path, externalReader(path, used));
  } catch (error) {
    throw error instanceof ImportError ? error : new ImportError((error as Error).message);
  } finally {
    for (const { fd } of used.values()) closeSync(fd);
  }
  if (model.graph.nodes.length === 0) throw new ImportError(`${path}: the graph has no nodes (truncated file?)`);
  const known = new Set(['', 'ai.onnx', 'com.microsoft']);
  const custom = model.graph.nodes.find((n) => n.domain && !known.has(n.domain));
  if (custom) throw new ImportError(`${path}: node '${custom.name ?? custom.opType}' uses the custom operator domain '${custom.domain}', which ONNX Runtime cannot run without its library`);
  const externalBytes = [...used.values()].reduce((sum, f) => sum + f.size, 0);
  return { path, model, externalFiles: [...used.keys()], bytes: bytes.length + externalBytes };
}

/** The default opset version of a model (domain ''), which decides e.g. whether GroupNormalization exists. */
export function opsetVersion(model: OnnxModel): number {
  return model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
}
