// Any model as a velocity field on rectified-flow time. With x_t = (1 − t)·x0 + t·z, the flow's
// velocity is v = z − x0 in expectation, and a denoiser D of any process gives it by a change of
// variables: the process time with the same rho = t/(1 − t), the state rescaled by alpha + sigma
// there (for EDM, sigma = t/(1 − t) and x_edm = x_t/(1 − t)), and v = (x_t − D)/t. EDM, VP and
// rectified-flow models, teachers and students alike, are thus one kind of object here.

import type { DenoiseCall, Denoiser } from '../diffusion/denoiser.js';
import { rectifiedFlowTime } from '../diffusion/grids.js';
import type { Process } from '../diffusion/process.js';
import { RngStream } from '../engine/rng.js';
import { compile } from '../engine/runtime.js';
import { netTraceFn } from '../models/network.js';
import { type NetForward, guidedRunner } from '../pipeline/generate.js';
import type { TrainedModel } from '../pipeline/model-store.js';
import { networkDenoiser, objectiveProcess } from '../train/objectives.js';

/** v(x, t) for a batch (flat, n samples) at rectified-flow time t ∈ (0, 1). */
export type VelocityField = (x: Float64Array, t: number, call: DenoiseCall) => Promise<Float64Array>;

export function velocityField(denoiser: Denoiser, process: Process): VelocityField {
  return async (x, t, call) => {
    if (!(t > 0 && t < 1)) throw new Error(`velocity field: t must be in (0, 1), got ${t}`);
    const time = process.tFromRho(t / (1 - t));
    const scale = process.alpha(time) + process.sigma(time);
    const denoised = await denoiser.denoise(x.map((xi) => scale * xi), time, call);
    return x.map((xi, i) => (xi - denoised[i]!) / t);
  };
}

/** A trained model's network compiled once, handing out velocity fields for batches of given labels. */
export interface ModelVelocity {
  /** The rectified-flow time of the model's noisiest time, where its samplers start (EDM's sigma = 80: 80/81). */
  tMax: number;
  /** The field for a batch of `batch` samples with these class labels (undefined for unconditional models). */
  field(labels: bigint[] | undefined, batch: number): VelocityField;
  dispose(): Promise<void>;
}

export function modelVelocity(trained: TrainedModel, guidance = 1): ModelVelocity {
  const network = compiledNetwork(trained);
  const own = objectiveProcess(trained.config.objective);
  return {
    tMax: rectifiedFlowTime(own, own.tMax),
    field(labels, batch) {
      const { denoiser, process } = networkDenoiser(trained.config.objective, guidedRunner(trained, network.forward, labels, guidance), batch);
      return velocityField(denoiser, process);
    },
    dispose: network.dispose,
  };
}

/** The model's plain network compiled once, as the forward pass guidedRunner takes. */
export function compiledNetwork(trained: TrainedModel): { forward: NetForward; dispose: () => Promise<void> } {
  const compiled = compile(netTraceFn(trained.model), { params: trained.params, name: trained.name });
  return {
    forward: async (feeds) => (await compiled.run(feeds)).out!.data as Float32Array,
    dispose: () => compiled.dispose(),
  };
}

export type OdeMethod = 'euler' | 'heun';
export const odeMethods: readonly OdeMethod[] = ['euler', 'heun'];

/**
 * Integrates dx/dt = v(x, t) through `times` (increasing or decreasing) with Euler or Heun, passing
 * each step's first velocity to `onVelocity`. Heun's corrector is skipped on a step ending at t = 0
 * or 1, where v is undefined, as rf-heun does.
 */
export async function integrate(field: VelocityField, x: Float64Array, times: Float64Array, method: OdeMethod, onVelocity?: (velocity: Float64Array) => void): Promise<Float64Array> {
  let state = x;
  for (let i = 0; i + 1 < times.length; i++) {
    const [t, next] = [times[i]!, times[i + 1]!];
    const dt = next - t;
    const v = await field(state, t, { step: i, stage: 0 });
    onVelocity?.(v);
    const predicted = state.map((xi, k) => xi + dt * v[k]!);
    if (method === 'euler' || next <= 0 || next >= 1) {
      state = predicted;
      continue;
    }
    const corrector = await field(predicted, next, { step: i, stage: 1 });
    state = state.map((xi, k) => xi + 0.5 * dt * (v[k]! + corrector[k]!));
  }
  return state;
}

/** N + 1 equally spaced times from `from` to `to`. */
export function uniformTimes(from: number, to: number, steps: number): Float64Array {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  return Float64Array.from({ length: steps + 1 }, (_, i) => (i === steps ? to : from + ((to - from) * i) / steps));
}

export interface NoiseBatches {
  n: number; // samples
  seed: number; // their standard-normal noise; classes go in turn, as `hasten sample` assigns them
  batch: number; // samples per network call
}

/**
 * The mean over n samples of a per-batch figure: `measure` gets each batch's field and noise and
 * returns the batch's mean. `stream` names the noise, so each diagnostic draws its own.
 */
export async function meanOverNoise(trained: TrainedModel, velocity: ModelVelocity, { n, seed, batch }: NoiseBatches, stream: string, measure: (field: VelocityField, noise: Float64Array) => Promise<number>): Promise<number> {
  const shape = trained.config.dataShape;
  const perSample = shape.reduce((a, b) => a * b, 1);
  const numClasses = trained.model.config.numClasses;
  const noise = RngStream.fromSeed(seed, stream);
  let total = 0;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const labels = numClasses > 0 ? Array.from({ length: count }, (_, i) => BigInt((start + i) % numClasses)) : undefined;
    total += count * (await measure(velocity.field(labels, count), noise.normal({ start, count }, shape, new Float64Array(count * perSample))));
  }
  return total / n;
}
