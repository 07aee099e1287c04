// What an exported U-Net takes and returns: which input is the noisy sample, which the timestep (and
// how it is fed: integer or float, one per sample or one for the batch), which the text conditioning,
// class labels, and whether the batch axis is dynamic. Names as diffusers exports them are preferred; otherwise
// ranks and dtypes decide, and anything ambiguous or unsupported is one clear error.

import type { OnnxModel, OnnxValueInfo } from '../engine/onnx/codec.js';
import { ImportError } from './onnx-file.js';

export interface UNetSignature {
  sample: string;
  /** [channels, height, width] of one sample. */
  sampleShape: number[];
  timestep: string;
  timestepDtype: 'float32' | 'float64' | 'int64' | 'int32';
  /** 'batch': one timestep per sample, [B]; 'scalar': one for the whole call, [] or [1]. */
  timestepShape: 'batch' | 'scalar';
  /** Rank of the timestep input: 0 for [], 1 for [B] or [1]. */
  timestepRank: 0 | 1;
  /** Text conditioning [B, tokens, width] (diffusers' encoder_hidden_states), if the model takes one. */
  conditioning?: { name: string; shape: number[] };
  /** Class labels [B] (diffusers' class_labels), if the model takes them. */
  classLabels?: ClassLabels;
  output: string;
  /** Rows per call: 'dynamic' or the graph's fixed batch size. */
  batch: 'dynamic' | number;
}

export interface ClassLabels {
  name: string;
  dtype: 'int64' | 'int32';
  /** The labels the graph takes are 0..classes−1 (diffusers' num_class_embeds). */
  classes: number;
  /** The label meaning "no class" (trained under label dropout): what guidance pushes away from; absent where unknown. */
  nullClass?: number;
  /** Where the class count came from: 'config.json', '--classes'. */
  source: string;
  /** Names of the labels, where the model's config gives them (hasten's exports do). */
  names?: string[];
}

/** What import knows of a class-label input beyond the graph: the class count and the null class, and where each came from. */
export interface ClassOptions {
  classes?: number;
  nullClass?: number;
  names?: string[];
  source?: string;
  /** The option given for a graph that may have no class input ('--classes', '--null-class'): an error if it has none. */
  given?: string;
}

const SAMPLE_NAMES = ['sample', 'x', 'latent', 'latents', 'noisy_latents', 'input'];
const TIMESTEP_NAMES = ['timestep', 'timesteps', 't', 'time', 'sigma'];
const CONDITIONING_NAMES = ['encoder_hidden_states', 'context', 'text_embeds', 'cond'];
const CLASS_NAMES = ['class_labels', 'class_label', 'labels', 'label', 'y'];
const OUTPUT_NAMES = ['out_sample', 'sample', 'output', 'noise_pred', 'out'];

const describe = (v: OnnxValueInfo): string => `${v.name} ${v.dtype}[${v.shape.join(', ')}]`;
const isFloat = (v: OnnxValueInfo): boolean => v.dtype === 'float32' || v.dtype === 'float64';

function pick(candidates: OnnxValueInfo[], names: string[], fits: (v: OnnxValueInfo) => boolean): OnnxValueInfo | undefined {
  const byName = candidates.find((v) => names.includes(v.name.toLowerCase()) && fits(v));
  if (byName) return byName;
  const fitting = candidates.filter(fits);
  return fitting.length === 1 ? fitting[0] : undefined;
}

/** Resolves the static size of a dimension: a number, or a symbolic one fixed by `override`. */
function staticDims(v: OnnxValueInfo, override: number[] | undefined, what: string): number[] {
  const dims = v.shape.slice(1);
  const resolved = dims.map((d, i) => (typeof d === 'number' && d > 0 ? d : override?.[i]));
  if (resolved.some((d) => d === undefined)) throw new ImportError(`${what} '${v.name}' has symbolic sizes [${v.shape.slice(1).join(', ')}] after the batch axis: give them with --sample-size HxW`);
  return resolved as number[];
}

/** The class-label input, found by name only (an integer [batch] input could as well be a timestep), checked against what is known of its classes. */
function readClassLabels(inputs: OnnxValueInfo[], options: ClassOptions): ClassLabels | undefined {
  const input = inputs.find((v) => CLASS_NAMES.includes(v.name.toLowerCase()));
  if (!input) {
    if (options.given) throw new ImportError(`${options.given}: the graph takes no class labels (no input named ${CLASS_NAMES.join(', ')})`);
    return undefined;
  }
  if ((input.dtype !== 'int64' && input.dtype !== 'int32') || input.shape.length !== 1) throw new ImportError(`class-label input ${describe(input)} must be int64 or int32 [batch]`);
  const { classes, nullClass } = options;
  if (classes === undefined) throw new ImportError(`input ${describe(input)} takes class labels, but the number of classes is unknown: give --classes N, or keep the model's diffusers config.json (num_class_embeds) beside the ONNX file`);
  if (!Number.isInteger(classes) || classes < 1) throw new ImportError(`the class count must be a positive integer, got ${classes} (${options.source ?? '--classes'})`);
  if (nullClass !== undefined && (!Number.isInteger(nullClass) || nullClass < 0 || nullClass >= classes)) throw new ImportError(`null class ${nullClass} is not one of the model's labels 0..${classes - 1}`);
  if (nullClass !== undefined && classes < 2) throw new ImportError(`a model with one label (${classes}) has no class beside its null class`);
  return { name: input.name, dtype: input.dtype, classes, ...(nullClass !== undefined && { nullClass }), source: options.source ?? '--classes', ...(options.names && { names: options.names }) };
}

export function readSignature(model: OnnxModel, options: { sampleSize?: [number, number]; classes?: ClassOptions } = {}): UNetSignature {
  const inputs = model.graph.inputs;
  const listed = inputs.map(describe).join(', ') || 'none';
  const sample = pick(inputs, SAMPLE_NAMES, (v) => isFloat(v) && v.shape.length === 4);
  if (!sample) throw new ImportError(`no sample input: expected one float input of rank 4 [batch, channels, height, width], the graph has ${listed}`);
  if (sample.dtype !== 'float32') throw new ImportError(`sample input '${sample.name}' is ${sample.dtype}; only float32 graphs are supported`);
  const classLabels = readClassLabels(inputs.filter((v) => v !== sample), options.classes ?? {});
  const rest = inputs.filter((v) => v !== sample && v.name !== classLabels?.name);
  const timestep = pick(rest, TIMESTEP_NAMES, (v) => v.shape.length <= 1 && v.dtype !== 'bool');
  if (!timestep) throw new ImportError(`no timestep input: expected one input of shape [batch], [1] or [] beside '${sample.name}', the graph has ${listed}`);
  const conditioning = pick(rest.filter((v) => v !== timestep), CONDITIONING_NAMES, (v) => isFloat(v) && v.shape.length === 3);
  const unknown = rest.filter((v) => v !== timestep && v !== conditioning);
  if (unknown.length > 0) throw new ImportError(`input ${unknown.map(describe).join(', ')} is not supported (supported: the sample, a timestep, encoder_hidden_states [batch, tokens, width] and class_labels [batch])`);

  const batchDim = sample.shape[0]!;
  const batch = typeof batchDim === 'number' && batchDim > 0 ? batchDim : 'dynamic';
  const channels = sample.shape[1];
  if (typeof channels !== 'number' || channels <= 0) throw new ImportError(`sample input '${sample.name}' has a symbolic channel count; the graph must fix it`);
  const [height, width] = staticDims({ ...sample, shape: [0, ...sample.shape.slice(2)] }, options.sampleSize, 'sample input');
  const sampleShape = [channels, height!, width!];

  // [B] (or [batch]) is one timestep per sample; [] and [1] on a larger batch are one for the whole call.
  const timestepDim = timestep.shape[0];
  const timestepShape = timestep.shape.length === 0 ? 'scalar'
    : typeof timestepDim === 'string' || timestepDim === batch ? 'batch'
      : timestepDim === 1 ? 'scalar' : undefined;
  if (!timestepShape) throw new ImportError(`timestep input ${describe(timestep)} is neither one value per sample [batch] nor one for the call [1]`);

  const outputs = model.graph.outputs;
  const output = pick(outputs, OUTPUT_NAMES, (v) => v.shape.length === 4 || v.shape.length === 0) ?? (outputs.length === 1 ? outputs[0] : undefined);
  if (!output) throw new ImportError(`no output to use: expected out_sample [batch, channels, height, width], the graph has ${outputs.map(describe).join(', ') || 'none'}`);
  if (output.shape.length !== 4 && output.shape.length !== 0) throw new ImportError(`output ${describe(output)} does not match the sample input's shape [batch, ${sampleShape.join(', ')}]`);
  const mismatch = output.shape.slice(1).some((d, i) => typeof d === 'number' && d > 0 && d !== sampleShape[i]);
  if (mismatch) throw new ImportError(`output ${describe(output)} does not match the sample input's shape [batch, ${sampleShape.join(', ')}]: a denoiser must predict a tensor like its input`);

  const signature: UNetSignature = { sample: sample.name, sampleShape, timestep: timestep.name, timestepDtype: timestep.dtype as UNetSignature['timestepDtype'], timestepShape, timestepRank: timestep.shape.length === 0 ? 0 : 1, output: output.name, batch };
  if (conditioning) {
    const shape = conditioning.shape.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : undefined));
    if (shape.some((d) => d === undefined)) throw new ImportError(`conditioning input ${describe(conditioning)} has symbolic token or width sizes; the graph must fix them`);
    signature.conditioning = { name: conditioning.name, shape: shape as number[] };
  }
  if (classLabels) signature.classLabels = classLabels;
  return signature;
}
