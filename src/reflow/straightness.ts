// Trajectory straightness (Liu et al. 2023; rectified flow++ eq. 3), measured along the model's own
// Euler trajectory: from x_1 = T·z at the model's noisiest time T (where its samplers start) down to
// x_0 at t = 0 in N equal steps,
//   S = (1/N) Σ_i mean over samples and coordinates of ((x_1 − x_0)/T − v(x_{t_i}, t_i))².
// (x_1 − x_0)/T is the average velocity of the path (for Euler with equal steps, exactly the mean
// of the v_i), so S is the spread of the velocity along each path: 0 exactly when every path is a
// straight line travelled at constant speed, which one Euler step then integrates without error.
// It is per coordinate, so 2-D points and images are on the same scale.

import type { TrainedModel } from '../pipeline/model-store.js';
import { type ModelVelocity, type NoiseBatches, type VelocityField, integrate, meanOverNoise, uniformTimes } from './velocity.js';

export interface StraightnessSettings extends NoiseBatches {
  steps: number; // Euler steps along each path
}

export const STRAIGHTNESS_DEFAULTS: StraightnessSettings = {
  steps: 32, // enough to resolve the velocity's spread along a path
  n: 1000, // the mean is then within a few per cent
  seed: 0,
  batch: 250,
};

/** Straightness of the field's paths from `noise` (n standard-normal samples, flat), starting at time tMax. */
export async function straightness(field: VelocityField, noise: Float64Array, steps: number, tMax: number): Promise<number> {
  const start = noise.map((z) => tMax * z);
  const velocities: Float64Array[] = [];
  const end = await integrate(field, start, uniformTimes(tMax, 0, steps), 'euler', (v) => velocities.push(v));
  let total = 0;
  for (const v of velocities) {
    for (let i = 0; i < v.length; i++) total += ((start[i]! - end[i]!) / tMax - v[i]!) ** 2;
  }
  return total / (velocities.length * noise.length);
}

/** Straightness of a model's paths, over `n` samples drawn in batches. */
export function modelStraightness(trained: TrainedModel, velocity: ModelVelocity, settings: StraightnessSettings = STRAIGHTNESS_DEFAULTS): Promise<number> {
  return meanOverNoise(trained, velocity, settings, 'straightness-noise', (field, noise) => straightness(field, noise, settings.steps, velocity.tMax));
}
