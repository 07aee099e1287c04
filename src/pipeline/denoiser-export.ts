// A trained hasten model as one ONNX graph that another runtime samples with diffusers' conventions:
// inputs `sample` [B, C, H, W] (x at the variance-preserving scale) and `timestep` [B] (int64,
// 0..N−1 of a DDPM schedule written beside it as scheduler_config.json), output `out_sample`, the
// predicted noise. The noise-label transform and the objective's preconditioning are inside the
// graph: per timestep k, with rho_k = sigma_k/alpha_k of the schedule, out = A_k·sample + B_k·F(C_k·sample,
// log(rho_k)/4), with A, B, C gathered from tables:
//   vp   F predicts eps from x itself:                 A = 0,  B = 1,  C = 1
//   edm  x_e = sample/alpha, D = c_skip x_e + c_out F(c_in x_e), eps = (x_e − D)/rho:
//                                                      A = (1 − c_skip)/(rho alpha), B = −c_out/rho, C = c_in/alpha
//   rf   x_rf = (1 − t) x0 + t eps at t = rho/(1 + rho), F predicts eps − x0, eps = x_rf + (1 − t) F:
//                                                      A = C = (1 − t)/alpha, B = 1 − t
// The network's parameterisation decides (a reflow student's is its teacher's). Class-conditional
// models take a third input, `class_labels` [B] (int64, diffusers' name for UNet2DModel): classes
// 0..K−1, and K, the null class the model was trained with under label dropout, for guidance. A
// diffusers-style config.json beside the graph records both (num_class_embeds = K + 1, null_class = K).

import type { HostTensor } from '../engine/host-tensor.js';
import { type OnnxModel } from '../engine/onnx/codec.js';
import { dynamicBatch } from '../engine/onnx/dynamic-batch.js';
import * as F from '../engine/ops/index.js';
import { type InputSpec, compile } from '../engine/runtime.js';
import { netTraceFn } from '../models/network.js';
import { ddpmDiscrete } from '../diffusion/process.js';
import { edmPreconditioning } from '../diffusion/parameterisation.js';
import { noiseLabel } from '../train/objectives.js';
import type { TrainedModel } from './model-store.js';

export interface DenoiserExportOptions {
  batch: number | 'dynamic'; // rows of the graph, or any number (a symbolic batch axis)
  numTrainTimesteps?: number; // N of the DDPM schedule the timestep indexes
  betaStart?: number;
  betaEnd?: number;
}

export interface DenoiserExport {
  model: OnnxModel;
  /** A diffusers DDPMScheduler config for the schedule the timestep indexes. */
  schedulerConfig: Record<string, unknown>;
  /** A diffusers UNet2DModel-style config.json: the sample's size and channels, and the class labels the graph takes. */
  modelConfig: Record<string, unknown>;
}

/** Name of the class-label input, as diffusers' UNet2DModel calls it. */
export const CLASS_LABELS_INPUT = 'class_labels';

/** The affine conversion of the objective's network output to eps at one noise level. */
function epsCoefficients(trained: TrainedModel, alpha: number, sigma: number): { a: number; b: number; c: number } {
  const rho = sigma / alpha;
  const objective = trained.config.objective;
  // The network's own parameterisation decides (a reflow student keeps its teacher's): at one rho every process sees the same x/alpha.
  switch (objective.network ?? objective.name) {
    case 'vp': return { a: 0, b: 1, c: 1 };
    case 'edm': {
      const { cSkip, cOut, cIn } = edmPreconditioning(rho, objective.sigmaData);
      return { a: (1 - cSkip) / (rho * alpha), b: -cOut / rho, c: cIn / alpha };
    }
    case 'rf': {
      // x_rf = x_vp (1 − t)/alpha with t = rho/(1 + rho); eps = x_rf + (1 − t) F(x_rf).
      const t = rho / (1 + rho);
      const scale = (1 - t) / alpha;
      return { a: scale, b: 1 - t, c: scale };
    }
  }
}

export function exportDenoiser(trained: TrainedModel, options: DenoiserExportOptions): DenoiserExport {
  const { batch, numTrainTimesteps: n = 1000, betaStart = 1e-4, betaEnd = 0.02 } = options;
  const dataShape = trained.config.dataShape;
  if (dataShape.length !== 3) throw new Error(`${trained.name}: only image models ([C, H, W]) export as a diffusers-style denoiser, not ${dataShape.join('x')} data`);
  const process = ddpmDiscrete({ steps: n, betaStart, betaEnd });
  const table = (values: (k: number) => number): HostTensor => ({ dtype: 'float32', shape: [n, 1], data: Float32Array.from({ length: n }, (_, k) => values(k)) });
  const coefficients = Array.from({ length: n }, (_, k) => {
    const t = (k + 1) / n;
    return { ...epsCoefficients(trained, process.alpha(t), process.sigma(t)), label: noiseLabel(process.rho(t)) };
  });
  const net = netTraceFn(trained.model);
  const numClasses = trained.model.config.numClasses;
  const lowerAt = (rows: number): OnnxModel => {
    const forward = compile((graph, inputs) => {
      const timestep = inputs.timestep!;
      const perRow = (values: (k: number) => number, shape: number[]) => F.reshape(F.embedding(graph.constant(table(values)), timestep), shape);
      const column = [rows, 1, 1, 1];
      const sample = inputs.sample!;
      const feeds = {
        x: F.mul(sample, perRow((k) => coefficients[k]!.c, column)),
        noise: perRow((k) => coefficients[k]!.label, [rows]),
        ...(numClasses > 0 ? { label: inputs[CLASS_LABELS_INPUT]! } : {}),
      };
      const raw = net(graph, feeds).out!;
      const out = F.add(F.mul(sample, perRow((k) => coefficients[k]!.a, column)), F.mul(raw, perRow((k) => coefficients[k]!.b, column)));
      return { out_sample: out };
    }, { params: trained.params, name: `${trained.name}-denoiser` });
    const classLabels: Record<string, InputSpec> = numClasses > 0 ? { [CLASS_LABELS_INPUT]: { shape: [rows], dtype: 'int64' } } : {};
    return forward.lower({ sample: { shape: [rows, ...dataShape], dtype: 'float32' }, timestep: { shape: [rows], dtype: 'int64' }, ...classLabels }).model;
  };
  const model = batch === 'dynamic' ? dynamicBatch(lowerAt) : lowerAt(batch);
  const schedulerConfig = {
    _class_name: 'DDPMScheduler', beta_schedule: 'linear', beta_start: betaStart, beta_end: betaEnd, num_train_timesteps: n,
    prediction_type: 'epsilon', clip_sample: false, timestep_spacing: 'leading', steps_offset: 0, trained_betas: null,
  };
  const [channels, height] = dataShape as [number, number, number];
  const modelConfig = {
    _class_name: 'UNet2DModel', sample_size: height, in_channels: channels, out_channels: channels,
    num_class_embeds: numClasses > 0 ? numClasses + 1 : null, null_class: numClasses > 0 ? numClasses : null,
    ...(trained.config.classNames && { class_names: trained.config.classNames }),
  };
  return { model, schedulerConfig, modelConfig };
}
