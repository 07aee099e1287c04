// hasten's public API, by layer (each builds on those above it). The CLI (src/cli) is built on these
// exports: every module a command uses is exported here, whole. A runnable example: docs/api.md.

// engine: tracing, graphs, gradients, ONNX, runtime sessions, training steps, checkpoints, random numbers
export * from './engine/host-tensor.js';
export { Graph, Tensor, ShapeError, type OpDef } from './engine/graph.js';
export * as ops from './engine/ops/index.js';
export { grad } from './engine/autodiff.js';
export * from './engine/runtime.js';
export * from './engine/ort-binding.js';
export * from './engine/ort-web.js';
export * from './engine/onnx/codec.js';
export { lowerToOnnx } from './engine/onnx/lower.js';
export * from './engine/onnx/dynamic-batch.js';
export * from './engine/train-step.js';
export * from './engine/training-loop.js';
export * from './engine/adamw.js';
export * from './engine/optim.js';
export * from './engine/checkpoint.js';
export * from './engine/checkpoint-format.js';
export * from './engine/safetensors.js';
export * from './engine/safetensors-file.js';
export * from './engine/atomic-write.js';
export * from './engine/rng.js';
export * from './engine/input-error.js';
export * from './paths.js';

// diffusion: processes, parameterisations, time grids, samplers, exact mixture problems
export * from './diffusion/process.js';
export * from './diffusion/grids.js';
export * from './diffusion/parameterisation.js';
export type { Denoiser, DenoiseCall } from './diffusion/denoiser.js';
export * from './diffusion/samplers/index.js';
export * from './diffusion/gmm.js';

// models: U-Net, DiT, MLP from JSON configs; the building blocks to write new ones
export * from './models/registry.js';
export * from './models/declarations.js';
export * from './models/layers.js';
export * from './models/res-block.js';
export * from './models/transformer.js';
export * from './models/network.js';
export * from './models/config-checks.js';
export * from './models/module-context.js';
export * from './models/flops.js';
export * from './models/cond-conv.js';
export { initParams } from './models/init.js';

// plots
export * from './plot/svg.js';

// data, training, evaluation, acceleration policies
export * from './data/dataset.js';
export * from './data/registry.js';
export * from './data/image-io.js';
export * from './data/scatter-plot.js';
export * from './train/trainer.js';
export * from './train/batch-source.js';
export * from './train/objectives.js';
export * from './train/model-for-data.js';
export * from './eval/feature-net.js';
export * from './eval/evaluate.js';
export * from './gmem/encoder.js';
export * from './gmem/bank.js';
export * from './gmem/training.js';
export * from './gmem/linear-probe.js';
export * from './gmem/snippet-of-file.js';
export * from './accel/config.js';
export * from './accel/caching.js';
export * from './accel/skip-tuning.js';
export * from './accel/errors.js';

// pipeline: the model store, generation sessions, evaluation of a model
export * from './pipeline/model-store.js';
export * from './pipeline/trained-model.js';
export * from './pipeline/model-fetch.js';
export * from './pipeline/live-run.js';
export * from './pipeline/toy-run.js';
export * from './pipeline/generate.js';
export * from './pipeline/sampling-network.js';
export * from './pipeline/switching.js';
export * from './pipeline/evaluate-model.js';
export * from './pipeline/memory-conditions.js';
export * from './pipeline/denoiser-export.js';

// import: diffusion U-Nets exported to ONNX elsewhere, their structure, and graph surgery for the accelerations
export * from './import/onnx-file.js';
export * from './import/signature.js';
export * from './import/schedule.js';
export * from './import/structure.js';
export * from './import/analysis.js';
export * from './import/surgery.js';
export * from './import/model-folder.js';
export * from './import/network.js';
export * from './import/target.js';

// methods and analyses on top of generation: rectified flow++, compression, the accel analyses
export * from './reflow/pairs.js';
export * from './reflow/train.js';
export * from './reflow/loss.js';
export * from './reflow/timesteps.js';
export * from './reflow/velocity.js';
export * from './reflow/straightness.js';
export * from './reflow/invert.js';
export * from './reflow/loss-by-time.js';
export * from './compress/assemble.js';
export * from './compress/compress.js';
export * from './compress/expert-init.js';
export * from './analysis/feature-change.js';
export * from './analysis/skip-loss.js';

// benchmarks
export * from './bench/samplers.js';
export * from './bench/accel.js';
export * from './bench/import-overhead.js';
export * from './bench/engine.js';
export * from './bench/reflow.js';
export * from './bench/redundancy.js';
export * from './bench/train-throughput.js';
export * from './bench/gmem.js';
export * from './bench/gmem-out-of-bank.js';
export * from './bench/capacity.js';
export * from './bench/compress.js';
export * from './bench/compress-variants.js';
export * from './bench/op-profile.js';
export * from './bench/side-by-side.js';
export * from './bench/timing.js';

// scale-out: shards of a job over local processes or a queue of workers, merged bit-identically
export * from './scale/executor.js';
export * from './scale/run.js';
export * from './scale/local-pool.js';
export * from './scale/queue.js';
export * from './scale/queue-executor.js';
export * from './scale/queue-worker.js';
export * from './scale/orphan.js';
export * from './scale/speedup.js';
export * from './scale/jobs/index.js';
export * from './scale/jobs/eval.js';
export * from './scale/jobs/sampling.js';
export * from './scale/jobs/pairs.js';
export * from './scale/jobs/bank.js';
export * from './scale/jobs/sweep.js';

// the browser app: its build, its server, the browser-against-Node benchmark
export * from './web/site.js';
export * from './web/serve.js';
export * from './web/bench.js';
export * from './web/chromium.js';
