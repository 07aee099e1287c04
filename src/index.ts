// hasten's public API. The CLI (src/cli) is built on exactly these pieces.

export * from './engine/host-tensor.js';
export { Graph, Tensor, ShapeError, type OpDef } from './engine/graph.js';
export * as ops from './engine/ops/index.js';
export { grad } from './engine/autodiff.js';
export { compile, CompiledFunction, OnnxSession, traceFunction, type TraceFn, useOrt, currentOrt } from './engine/runtime.js';
export type { OrtBinding } from './engine/ort-binding.js';
export { encodeModel, decodeModel, type OnnxModel } from './engine/onnx/codec.js';
export { lowerToOnnx } from './engine/onnx/lower.js';
export { TrainStep, type TrainStepOptions } from './engine/train-step.js';
export { AdamW, learningRateSchedule, emaBeta, updateEma, clipGradientsByGlobalNorm } from './engine/optim.js';
export { saveCheckpoint, loadCheckpoint, CheckpointError } from './engine/checkpoint.js';
export { encodeSafetensors, decodeSafetensors } from './engine/safetensors.js';
export { saveSafetensors, loadSafetensors } from './engine/safetensors-file.js';
export { RngStream } from './engine/rng.js';

export * from './diffusion/process.js';
export * from './diffusion/grids.js';
export * from './diffusion/parameterisation.js';
export type { Denoiser, DenoiseCall } from './diffusion/denoiser.js';
export { samplers, samplerNames, getSampler, type SamplerDefinition } from './diffusion/samplers/index.js';

export { createModel, resolveModelConfig, type ModelConfig } from './models/registry.js';
export { ModuleContext, type ModulePlan } from './models/module-context.js';
export { initParams } from './models/init.js';

export { openDataset } from './data/registry.js';
export type { Dataset, DatasetBatch } from './data/dataset.js';

export { train, type TrainConfig } from './train/trainer.js';
export { objectiveSettings, networkDenoiser } from './train/objectives.js';
export { generate, type GenerateOptions } from './pipeline/generate.js';
export { loadTrainedModel } from './pipeline/model-store.js';
