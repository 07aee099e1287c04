// The models of `hasten bench compress`'s capacity rows (A-SDM's capacity-without-cost layers): a
// student with conditional convolutions (ME-CondConv, or CLME-CondConv whose experts inherit the
// pruned convolutions), and global-regional attention against full attention. A row's model is a
// trained one (its quality is measured), or, when none is given, built from the teacher or the
// student without training: then the row measures cost only (parameters, FLOPs, wall time).

import type { ParamTree } from '../engine/host-tensor.js';
import { InputError } from '../engine/input-error.js';
import { type ExpertInit, expertParams } from '../compress/expert-init.js';
import { ATTENTION_DEFAULTS, type AttentionConfig } from '../models/gri-attention.js';
import { createModel } from '../models/registry.js';
import { UNet } from '../models/unet.js';
import type { TrainedModel } from '../pipeline/model-store.js';

export const VARIANT_METHODS = ['student', 'me-condconv', 'clme-condconv', 'full-attention', 'gri-attention'] as const;
export type VariantMethod = (typeof VARIANT_METHODS)[number];

export interface CompressVariant {
  method: VariantMethod;
  model: TrainedModel;
  trained: boolean; // false: built without training, so the row has no quality figures
}

export interface BuildSettings {
  condConvLayers: string[]; // 'me-condconv', 'clme-condconv': the student's residual layers made conditional
  experts: number;
  window: number; // 'gri-attention': GRI window and pool sides
  pool: number;
  seed: number;
}

export const BUILD_DEFAULTS: Readonly<BuildSettings> = { condConvLayers: [], experts: 4, window: ATTENTION_DEFAULTS.attentionWindow, pool: ATTENTION_DEFAULTS.attentionPool, seed: 0 };

/** Where each CondConv method's experts start when built untrained (expert-init.ts): the student's own convolution, or the pruned ones. */
const EXPERT_START: Partial<Record<VariantMethod, ExpertInit>> = { 'me-condconv': 'surviving', 'clme-condconv': 'clme' };

/** A model's capacity layers: its conditional convolutions (U-Net) and its self-attention settings (U-Net, DiT). */
function layersOf({ model }: TrainedModel): { condConv: string[]; experts: number; attention?: AttentionConfig } {
  const config = model.config;
  return {
    condConv: config.arch === 'unet' ? config.condConvLayers : [],
    experts: config.arch === 'unet' ? config.condConvExperts : 0,
    attention: config.arch === 'mlp' ? undefined : config,
  };
}

/** What a row's model is, in a few words (its layer settings). */
export function describeVariant({ method, model, trained }: CompressVariant): string {
  const { condConv, experts, attention } = layersOf(model);
  const layer = EXPERT_START[method] ? `condconv ${condConv.join(',')} K=${experts}`
    : method === 'gri-attention' ? `gri window=${attention?.attentionWindow},pool=${attention?.attentionPool}`
      : method === 'full-attention' ? 'full attention' : 'plain';
  return trained ? `${model.name}: ${layer}` : `${layer} (built untrained: cost only)`;
}

/** A trained model given for a row, checked to be what the row says it is. */
export function givenVariant(method: VariantMethod, model: TrainedModel): CompressVariant {
  const layers = layersOf(model);
  const condConv = layers.condConv.length > 0;
  const gri = layers.attention?.attention === 'gri';
  const fits = EXPERT_START[method] ? condConv : method === 'gri-attention' ? gri : !condConv && !gri;
  if (!fits) throw new InputError(`--variant ${method}=${model.name}: the model ${EXPERT_START[method] ? 'has no conditional convolutions' : method === 'gri-attention' ? 'does not use GRI attention' : 'has conditional convolutions or GRI attention'}`);
  return { method, model, trained: true };
}

/** A row's model built without training: the student with conditional convolutions, or the teacher with GRI attention on its weights. */
export function builtVariant(method: VariantMethod, teacher: TrainedModel, student: TrainedModel | undefined, settings: BuildSettings): CompressVariant {
  const init = EXPERT_START[method];
  if (init) {
    if (!student || !(student.model instanceof UNet)) throw new InputError(`--variant ${method} without a model is built from --student, a U-Net`);
    if (settings.condConvLayers.length === 0) throw new InputError(`--variant ${method} without a model needs --cond-conv LAYER,... (the student's residual layers to make conditional)`);
    const model = createModel({ ...student.model.config, condConvLayers: settings.condConvLayers, condConvExperts: settings.experts }) as UNet;
    const experts = expertParams(model, teacher.params, init, settings.seed);
    const params: ParamTree = new Map([...model.paramShapes().keys()].map((name) => [name, experts.get(name) ?? student.params.get(name)!]));
    return { method, model: { ...student, name: `${student.name}+${method}`, model, params }, trained: false };
  }
  if (method === 'gri-attention') {
    const model = createModel({ ...teacher.model.config, attention: 'gri', attentionWindow: settings.window, attentionPool: settings.pool });
    return { method, model: { ...teacher, name: `${teacher.name}+gri`, model }, trained: false };
  }
  throw new InputError(`--variant ${method} needs a trained model: --variant ${method}=NAME|PATH`);
}
