// An imported model as something generate() samples: its discrete DDPM process, its prediction
// type turned into the x0 denoiser, its text conditioning (encoder_hidden_states) given as
// tensors: one row applies to every sample, or one row per sample; a second set of rows is the
// unconditional input for classifier-free guidance. Class labels (class_labels) are drawn like
// hasten's own: every class in turn, or the classes asked for, cycled; guidance runs against the
// null class where import knows one.

import { existsSync } from 'node:fs';
import type { AccelConfig } from '../accel/config.js';
import { loadSafetensors } from '../engine/safetensors-file.js';
import { toDenoiser } from '../diffusion/parameterisation.js';
import type { HostTensor } from '../engine/host-tensor.js';
import { type ConditioningFeeds, type SamplingTarget, cycledClasses } from '../pipeline/generate.js';
import { noiseLabel } from '../train/objectives.js';
import type { ImportedModel } from './model-folder.js';
import { ImportedNetwork } from './network.js';
import { ImportError } from './onnx-file.js';
import { classLabelTensor } from './probe.js';

export interface ImportedConditioning {
  cond?: HostTensor; // [1 or n, tokens, width]
  uncond?: HostTensor; // the same shape rule, for guidance
  classes?: number[]; // class label of each sample (cycled), for a model with class labels; default: every class in turn
}

/** Grids for the discrete schedule: uniform in t, as diffusers spaces its timesteps. */
export const IMPORTED_DEFAULT_GRID = 'uniform';

function checkRows(imported: ImportedModel, t: HostTensor, what: string, n: number): void {
  const expected = imported.record.signature.conditioning!;
  const rows = t.shape[0];
  if (t.shape.length !== 3 || t.shape[1] !== expected.shape[0] || t.shape[2] !== expected.shape[1]) {
    throw new ImportError(`${what}: ${expected.name} must be [1 or ${n}, ${expected.shape.join(', ')}], got [${t.shape.join(', ')}]`);
  }
  if (rows !== 1 && rows !== n) throw new ImportError(`${what}: ${rows} rows of ${expected.name}; give 1 (for every sample) or one per sample (${n})`);
  if (t.dtype !== 'float32') throw new ImportError(`${what}: ${expected.name} must be float32, got ${t.dtype}`);
}

function rowsFor(t: HostTensor, start: number, count: number): HostTensor {
  const per = t.data.length / t.shape[0]!;
  const data = new Float32Array(count * per);
  for (let r = 0; r < count; r++) {
    const source = t.shape[0] === 1 ? 0 : start + r;
    data.set((t.data as Float32Array).subarray(source * per, (source + 1) * per), r * per);
  }
  return { dtype: 'float32', shape: [count, ...t.shape.slice(1)], data };
}

export function importedTarget(imported: ImportedModel, n: number, conditioning: ImportedConditioning = {}): SamplingTarget {
  const { signature, schedule } = imported.record;
  const name = signature.conditioning?.name;
  if (name && !conditioning.cond) throw new ImportError(`${imported.name} is conditioned on ${name} [batch, ${signature.conditioning!.shape.join(', ')}]: pass the conditioning tensors with --cond-file FILE.safetensors`);
  if (!name && (conditioning.cond || conditioning.uncond)) throw new ImportError(`${imported.name} takes no conditioning input; drop --cond-file/--uncond-file`);
  if (conditioning.cond) checkRows(imported, conditioning.cond, '--cond-file', n);
  if (conditioning.uncond) checkRows(imported, conditioning.uncond, '--uncond-file', n);
  const classInput = signature.classLabels;
  if (!classInput && conditioning.classes && conditioning.classes.length > 0) throw new ImportError(`${imported.name} takes no class labels; drop --class`);
  const labels = classInput && cycledClasses(n, classInput.classes, conditioning.classes, { nullClass: classInput.nullClass });
  const process = imported.process;
  const unguidable = name && !conditioning.uncond ? `pass the unconditional ${name} with --uncond-file`
    : classInput && classInput.nullClass === undefined ? `${imported.name} has no known null class to guide against: import it again with --null-class K, the label it was trained with for "no class"` : undefined;
  return {
    name: imported.name,
    dataShape: imported.dataShape,
    process,
    defaultGrid: IMPORTED_DEFAULT_GRID,
    network: (accel?: AccelConfig) => new ImportedNetwork(imported, accel),
    denoiser: (runner, batch) => toDenoiser(
      async (x, t, call) => Float64Array.from(await runner(Float32Array.from(x), new Float32Array(batch).fill(noiseLabel(process.rho(t))), batch, call)),
      schedule.prediction,
      process,
    ),
    conditioning: (start, count): ConditioningFeeds | undefined => {
      const cond: Record<string, HostTensor> = {};
      const uncond: Record<string, HostTensor> = {};
      if (name && conditioning.cond) cond[name] = rowsFor(conditioning.cond, start, count);
      if (name && conditioning.uncond) uncond[name] = rowsFor(conditioning.uncond, start, count);
      if (classInput && labels) {
        cond[classInput.name] = classLabelTensor(classInput, labels.slice(start, start + count));
        if (classInput.nullClass !== undefined) uncond[classInput.name] = classLabelTensor(classInput, new Array(count).fill(classInput.nullClass));
      }
      if (Object.keys(cond).length === 0) return undefined;
      return { cond, ...(!unguidable && { uncond }) };
    },
    labels,
    ...(unguidable && { unguidable }),
  };
}

/** The conditioning tensor of a safetensors file: the one named like the model's input, or the file's only tensor. */
export async function readConditioningFile(path: string, name: string, flag: string): Promise<HostTensor> {
  if (!existsSync(path)) throw new ImportError(`${flag} ${path}: no such file`);
  const { tensors } = await loadSafetensors(path);
  const tensor = tensors.get(name) ?? (tensors.size === 1 ? [...tensors.values()][0] : undefined);
  if (!tensor) throw new ImportError(`${flag} ${path}: no tensor '${name}' (it holds ${[...tensors.keys()].join(', ') || 'none'})`);
  return tensor;
}
