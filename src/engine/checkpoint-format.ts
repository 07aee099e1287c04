// The checkpoint format, apart from files: the config JSON that names the model and the training step,
// the safetensors tensors split into parameters and extra state, and the checks that a parameter set
// fits a model. checkpoint.ts reads and writes the pair of files; a browser fetches the same bytes.

import { CheckpointError } from './checkpoint-error.js';
import { type HostTensor, type ParamTree, sameShape } from './host-tensor.js';
import type { SafetensorsContents } from './safetensors.js';
import { CHECKPOINT_EXTRA_PREFIX } from './state-names.js';

export const CONFIG_FORMAT = 'hasten-checkpoint';
export const CONFIG_VERSION = 1;
export const SAVE_ID_METADATA = 'hasten.save_id';

export interface CheckpointContents {
  params: ParamTree;
  /** The model's configuration: a plain JSON-able object (no bigint, NaN, undefined or class instances). */
  config: object;
  /** Other tensors to restore exactly: optimizer state, EMA parameters... Names are free-form. */
  extra?: Map<string, HostTensor>;
  /** Training steps taken when saved. */
  step?: number;
}

export interface LoadedCheckpoint {
  params: ParamTree;
  config: Record<string, unknown>;
  extra: Map<string, HostTensor>;
  step: number | undefined;
  saveId: string; // changes with every save: names these exact weights
  files: CheckpointFiles;
}

/** Where the two halves came from (paths or URLs): every error names one of them. */
export interface CheckpointFiles {
  weights: string;
  config: string;
}

export interface CheckpointHeader {
  saveId: string;
  step: number | undefined;
  config: Record<string, unknown>;
}

/** Parses and checks the text of a checkpoint's JSON half; `path` names it in errors. */
export function parseCheckpointConfig(text: string, path: string): CheckpointHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(path, `bad checkpoint config: not valid JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
  }
  const record = parsed as Record<string, unknown>;
  if (typeof parsed !== 'object' || parsed === null || record.format !== CONFIG_FORMAT) {
    throw new CheckpointError(path, `bad checkpoint config: not a ${CONFIG_FORMAT} file (no "format": "${CONFIG_FORMAT}")`);
  }
  if (record.version !== CONFIG_VERSION) {
    throw new CheckpointError(path, `bad checkpoint config: version ${String(record.version)} is not the supported version ${CONFIG_VERSION}`);
  }
  const { save_id: saveId, step, config } = record;
  if (typeof saveId !== 'string') throw new CheckpointError(path, 'bad checkpoint config: no string "save_id"');
  if (step !== null && !Number.isSafeInteger(step)) throw new CheckpointError(path, 'bad checkpoint config: "step" must be an integer or null');
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new CheckpointError(path, 'bad checkpoint config: "config" must be a JSON object');
  }
  return { saveId, step: step === null ? undefined : (step as number), config: config as Record<string, unknown> };
}

/** Broken weights are refused at load rather than discovered as NaN images later. */
function checkFinite(path: string, name: string, tensor: HostTensor): void {
  if (tensor.dtype !== 'float32' && tensor.dtype !== 'float64') return;
  const values = tensor.data as Float32Array | Float64Array;
  let count = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i]!)) continue;
    if (count++ === 0) first = i;
  }
  if (count > 0) throw new CheckpointError(path, `tensor '${name}' holds ${count} non-finite value${count > 1 ? 's' : ''} (${values[first]} at index ${first}): these weights are broken`);
}

/** A checkpoint from its two halves, checked to come from one save and to hold finite weights. */
export function assembleCheckpoint(header: CheckpointHeader, { tensors, metadata }: SafetensorsContents, files: CheckpointFiles): LoadedCheckpoint {
  const { saveId, step, config } = header;
  if (metadata[SAVE_ID_METADATA] !== saveId) {
    throw new CheckpointError(files.weights, `does not belong with ${files.config}: they come from different saves (was a save interrupted?)`);
  }
  const params: ParamTree = new Map();
  const extra = new Map<string, HostTensor>();
  for (const [name, tensor] of tensors) {
    checkFinite(files.weights, name, tensor);
    if (name.startsWith(CHECKPOINT_EXTRA_PREFIX)) {
      extra.set(name.slice(CHECKPOINT_EXTRA_PREFIX.length), tensor);
    } else if (tensor.dtype === 'float32') {
      params.set(name, tensor as HostTensor<'float32'>);
    } else {
      throw new CheckpointError(files.weights, `parameter '${name}' is ${tensor.dtype}, expected float32`);
    }
  }
  return { params, config, extra, step, saveId, files };
}

const MAX_LISTED_NAMES = 10;

function listNames(names: string[]): string {
  const shown = names.slice(0, MAX_LISTED_NAMES).map((name) => `'${name}'`).join(', ');
  return names.length > MAX_LISTED_NAMES ? `${shown} and ${names.length - MAX_LISTED_NAMES} more` : shown;
}

export interface LoadParamsOptions {
  /** Accept loaded tensors the model does not expect (e.g. loading an encoder out of a whole model). */
  allowUnexpected?: boolean;
}

/**
 * Checks loaded tensors against the parameters a model expects and returns them as a ParamTree in the
 * model's order. All problems are reported together in one CheckpointError naming `path`: missing
 * tensors, shape mismatches (expected vs found), non-float32 tensors and unexpected tensors.
 */
export function loadParamsInto(
  expected: ReadonlyMap<string, { shape: readonly number[] }>,
  loaded: ReadonlyMap<string, HostTensor>,
  path: string,
  options: LoadParamsOptions = {},
): ParamTree {
  const missing: string[] = [];
  const mismatches: string[] = [];
  const params: ParamTree = new Map();
  for (const [name, { shape }] of expected) {
    const tensor = loaded.get(name);
    if (tensor === undefined) missing.push(name);
    else if (tensor.dtype !== 'float32') mismatches.push(`dtype mismatch for '${name}': expected float32, found ${tensor.dtype}`);
    else if (!sameShape(tensor.shape, shape)) mismatches.push(`shape mismatch for '${name}': expected [${shape.join(', ')}], found [${tensor.shape.join(', ')}]`);
    else params.set(name, tensor as HostTensor<'float32'>);
  }
  const unexpected = options.allowUnexpected ? [] : [...loaded.keys()].filter((name) => !expected.has(name));

  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing tensor${missing.length > 1 ? 's' : ''} ${listNames(missing)}`);
  problems.push(...mismatches.slice(0, MAX_LISTED_NAMES));
  if (mismatches.length > MAX_LISTED_NAMES) problems.push(`${mismatches.length - MAX_LISTED_NAMES} more mismatches`);
  if (unexpected.length > 0) problems.push(`unexpected tensor${unexpected.length > 1 ? 's' : ''} ${listNames(unexpected)}`);
  if (problems.length > 0) throw new CheckpointError(path, `does not fit the model: ${problems.join('; ')}`);
  return params;
}

/** The same tensors with `prefix` added to every name: for storing several states side by side in `extra`. */
export function withPrefix(prefix: string, tensors: ReadonlyMap<string, HostTensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, tensor] of tensors) out.set(prefix + name, tensor);
  return out;
}

/** The tensors whose names start with `prefix`, with the prefix removed: the inverse of withPrefix. */
export function underPrefix(prefix: string, tensors: ReadonlyMap<string, HostTensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, tensor] of tensors) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), tensor);
  return out;
}
