// Content-addressed shard artefacts: the result of one shard of a divisible job, a safetensors file
// whose header names what it is (the job, the settings' hash, the range of items) and the sha256 of
// its tensor data, so that any copy can be checked on its own, without a manifest.
//
//   RESULTS/<job>-<first 16 hex of the settings hash>/<first>+<count>.safetensors
//   __metadata__: { format, job, settings_hash, first, count, data_sha256, ...job's extra strings }
//
// The path is a function of (job, settings hash, range) alone: two runs of the same settings, on any
// machine, address the same file, which is why a finished shard is never computed twice. Writes are
// atomic, so a reader sees a whole artefact or none; a file that exists but does not verify (a copy
// cut short, a flipped bit, another job's file) is reported and computed again.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../engine/atomic-write.js';
import type { HostTensor } from '../engine/host-tensor.js';
import { decodeSafetensors, encodeSafetensors } from '../engine/safetensors.js';
import type { ShardRange } from './shard.js';

export const ARTEFACT_FORMAT = 'hasten-shard-1';

/** What an artefact must be: the job and settings hash it was made for, and its range. */
export interface ArtefactAddress {
  job: string;
  settingsHash: string;
  range: ShardRange;
}

export interface Artefact {
  tensors: Map<string, HostTensor>;
  extra: Record<string, string>; // the job's own metadata (timings, counts)
}

type Column = Float32Array | Float64Array | BigInt64Array;

/** One tensor's data from every shard, end to end in shard order: the column a one-process run holds. */
export function joinedColumn<T extends Column>(shards: Artefact[], name: string): T {
  const parts = shards.map((shard) => shard.tensors.get(name)!.data as T);
  const out = new (parts[0]!.constructor as new (length: number) => T)(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    (out as { set(a: T, o: number): void }).set(part, offset);
    offset += part.length;
  }
  return out;
}

export function artefactPath(results: string, address: ArtefactAddress): string {
  return join(results, `${address.job}-${address.settingsHash.slice(0, 16)}`, `${address.range.first}+${address.range.count}.safetensors`);
}

/** sha256 over the tensors' names, dtypes, shapes and bytes, in order. */
function dataDigest(tensors: Map<string, HostTensor>): string {
  const hash = createHash('sha256');
  for (const [name, tensor] of tensors) {
    hash.update(`${name}:${tensor.dtype}:[${tensor.shape.join(',')}]\n`);
    hash.update(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  }
  return hash.digest('hex');
}

const RESERVED = ['format', 'job', 'settings_hash', 'first', 'count', 'data_sha256'];

/** Writes an artefact atomically at its address under `results`; returns its path. */
export async function writeArtefact(results: string, address: ArtefactAddress, artefact: Artefact): Promise<string> {
  for (const key of Object.keys(artefact.extra)) if (RESERVED.includes(key)) throw new Error(`artefact metadata '${key}' is reserved`);
  const path = artefactPath(results, address);
  mkdirSync(join(path, '..'), { recursive: true });
  const metadata = {
    ...artefact.extra,
    format: ARTEFACT_FORMAT,
    job: address.job,
    settings_hash: address.settingsHash,
    first: String(address.range.first),
    count: String(address.range.count),
    data_sha256: dataDigest(artefact.tensors),
  };
  await writeFileAtomic(path, encodeSafetensors(artefact.tensors, metadata));
  return path;
}

export type ArtefactCheck = { status: 'ok'; artefact: Artefact } | { status: 'missing' } | { status: 'corrupt'; reason: string };

/** Reads the artefact at `address` and checks it: header, address and the hash of its data. */
export async function readArtefact(results: string, address: ArtefactAddress): Promise<ArtefactCheck> {
  const path = artefactPath(results, address);
  if (!existsSync(path)) return { status: 'missing' };
  let decoded;
  try {
    decoded = decodeSafetensors(await readFile(path), path);
  } catch (error) {
    return { status: 'corrupt', reason: (error as Error).message };
  }
  const { tensors, metadata } = decoded;
  const expected: Record<string, string> = { format: ARTEFACT_FORMAT, job: address.job, settings_hash: address.settingsHash, first: String(address.range.first), count: String(address.range.count) };
  for (const [key, value] of Object.entries(expected)) {
    if (metadata[key] !== value) return { status: 'corrupt', reason: `${path}: ${key} is ${JSON.stringify(metadata[key])}, expected ${JSON.stringify(value)}` };
  }
  if (metadata.data_sha256 !== dataDigest(tensors)) return { status: 'corrupt', reason: `${path}: its data does not match the sha256 in its header` };
  const extra = Object.fromEntries(Object.entries(metadata).filter(([key]) => !RESERVED.includes(key)));
  return { status: 'ok', artefact: { tensors, extra } };
}
