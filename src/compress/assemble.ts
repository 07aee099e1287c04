// Model assembly (A-SDM; BK-SDM's recipe): a student is the teacher's U-Net config with some modules
// removed (UNetConfig.removedModules), and starts from the teacher's weights. Kept parameters keep
// the teacher's names, so the default start copies them by name; the BK-SDM alternative starts a
// kept block from a removed neighbour at the same level instead, where the shapes allow.

import { formatShape } from '../engine/graph.js';
import { sameShape, type ParamTree } from '../engine/host-tensor.js';
import { ModelConfigError } from '../models/config-checks.js';
import { type Model, type ModelConfig, createModel } from '../models/registry.js';
import { UNet, type UNetConfig } from '../models/unet.js';
import { InputError } from '../engine/input-error.js';
import { type ExpertInit, expertParams } from './expert-init.js';

export class CompressError extends InputError {
  override name = 'CompressError';
}

/** The teacher's U-Net, or one clear error for any other network. */
export function requireUNet(model: Model, what: string): UNet {
  if (!(model instanceof UNet)) throw new CompressError(`${what} is a ${model.config.arch}; removing blocks needs a U-Net`);
  return model;
}

/** Conditional convolutions a student gains in place of plain ones (ME-CondConv), and where their experts start (expert-init.ts). */
export interface StudentCondConv {
  layers: string[]; // residual layers whose 3x3 convolutions become conditional
  experts: number;
  init: ExpertInit;
}

/** The student's config: the teacher's with `remove` added to its removed modules, and conditional convolutions in `condConv`'s layers (checked by the U-Net). */
export function studentConfig(teacher: ModelConfig, remove: readonly string[], condConv?: StudentCondConv): UNetConfig {
  if (teacher.arch !== 'unet') throw new CompressError(`the teacher is a ${teacher.arch}; removing blocks needs a U-Net`);
  if (remove.length === 0) throw new CompressError('nothing to remove: name module paths or a preset');
  const config: UNetConfig = {
    ...teacher,
    removedModules: [...teacher.removedModules, ...remove],
    ...(condConv && { condConvLayers: [...condConv.layers], condConvExperts: condConv.experts }),
  };
  try {
    return new UNet(config).config;
  } catch (error) {
    if (error instanceof ModelConfigError) throw new CompressError(error.message);
    throw error;
  }
}

export interface Preset {
  description: string;
  /** The module paths the preset removes from `teacher`. */
  removes(teacher: UNet): string[];
}

/** BK-SDM's choice on this layout: the last block of every encoder level and the middle block of every decoder level, where a block can be bypassed. */
function bkBlocks(teacher: UNet): string[] {
  const { blocksPerLevel, channelMultipliers } = teacher.config;
  const bypassable = new Set(teacher.removableModules().filter((m) => m.how === 'bypass' && m.kind === 'block').map((m) => m.path));
  const chosen: string[] = [];
  for (let level = 0; level < channelMultipliers.length; level++) chosen.push(`enc.${level}.${blocksPerLevel - 1}`);
  for (let level = channelMultipliers.length - 1; level >= 0; level--) chosen.push(`dec.${level}.${Math.floor((blocksPerLevel + 1) / 2)}`);
  return chosen.filter((path) => bypassable.has(path) && !teacher.config.removedModules.includes(path));
}

export const PRESETS: Readonly<Record<string, Preset>> = {
  'bk-base': { description: "BK-SDM-Base: each encoder level's last block and each decoder level's middle block, where shapes allow", removes: bkBlocks },
  'bk-small': { description: 'BK-SDM-Small: bk-base and the middle stage', removes: (teacher) => [...bkBlocks(teacher), 'mid'] },
};

export function presetRemovals(name: string, teacher: UNet): string[] {
  const preset = PRESETS[name];
  if (!preset) throw new CompressError(`unknown preset '${name}' (presets: ${Object.keys(PRESETS).join(', ')})`);
  return preset.removes(teacher);
}

/** 'teacher': every kept parameter from the teacher's of the same name; 'neighbour': as BK-SDM, a kept block right after a removed one at its level starts from the removed block's weights where all shapes match. */
export type StudentInit = 'teacher' | 'neighbour';
export const STUDENT_INITS: readonly StudentInit[] = ['teacher', 'neighbour'];

/** Kept block -> removed block it inherits from under 'neighbour' (same level, the removed one just before it, identical parameter shapes). */
export function neighbourSources(teacher: UNet, student: UNet): Map<string, string> {
  const removed = new Set(student.config.removedModules);
  const blocks = teacher.modules().filter((m) => m.kind === 'block').map((m) => m.path);
  const shapes = teacher.paramShapes();
  const subtree = (path: string): [string, string][] => [...shapes].filter(([name]) => name.startsWith(`${path}.`)).map(([name, shape]) => [name.slice(path.length), formatShape(shape)]);
  const sameShapes = (a: string, b: string): boolean => JSON.stringify(subtree(a)) === JSON.stringify(subtree(b));
  const sources = new Map<string, string>();
  blocks.forEach((path, i) => {
    const previous = blocks[i - 1];
    const level = (p: string): string => p.split('.').slice(0, 2).join('.');
    if (previous && removed.has(previous) && !removed.has(path) && level(previous) === level(path) && sameShapes(previous, path)) sources.set(path, previous);
  });
  return sources;
}

/** The student's starting parameters, copied (never shared) from the teacher's; conditional convolutions start as `expertInit` says. */
export function studentParams(teacher: UNet, teacherParams: ParamTree, student: UNet, init: StudentInit = 'teacher', expertInit: ExpertInit = 'clme', seed = 0): ParamTree {
  const sources = init === 'neighbour' ? neighbourSources(teacher, student) : new Map<string, string>();
  const experts = expertParams(student, teacherParams, expertInit, seed);
  const params: ParamTree = new Map();
  for (const [name, shape] of student.paramShapes()) {
    const expert = experts.get(name);
    if (expert) {
      params.set(name, expert);
      continue;
    }
    const block = [...sources.keys()].find((path) => name.startsWith(`${path}.`));
    const from = block ? sources.get(block)! + name.slice(block.length) : name;
    const found = teacherParams.get(from);
    if (!found || !sameShape(found.shape, shape)) throw new CompressError(`the teacher has no parameter '${from}' ${formatShape(shape)} for the student's '${name}'`);
    params.set(name, { ...found, shape: [...found.shape], data: found.data.slice() });
  }
  return params;
}

/** A student model and its starting parameters. */
export function assembleStudent(teacher: UNet, teacherParams: ParamTree, remove: readonly string[], init: StudentInit = 'teacher', condConv?: StudentCondConv): { model: UNet; params: ParamTree } {
  const model = createModel(studentConfig(teacher.config, remove, condConv)) as UNet;
  return { model, params: studentParams(teacher, teacherParams, model, init, condConv?.init) };
}
