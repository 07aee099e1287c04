// Trajectory straightness (Liu et al. 2023; rectified flow++ eq. 3), measured along the model's own
// Euler trajectory: from x_1 = T_MAX·z at t = T_MAX down to x_0 at t = 0 in N equal steps,
//   S = (1/N) Σ_i mean over samples and coordinates of ((x_1 − x_0)/T_MAX − v(x_{t_i}, t_i))².
// (x_1 − x_0)/T_MAX is the average velocity of the path (for Euler with equal steps, exactly the mean
// of the v_i), so S is the spread of the velocity along each path: 0 exactly when every path is a
// straight line travelled at constant speed, which one Euler step then integrates without error.
// It is per coordinate, so 2-D points and images are on the same scale.

import { T_MAX, type VelocityField, integrate, uniformTimes } from './velocity.js';

export interface StraightnessSettings {
  steps: number; // Euler steps along each path
}

export const STRAIGHTNESS_DEFAULTS: StraightnessSettings = {
  steps: 32, // enough for the velocity's spread; the paths of a 35-NFE teacher change little beyond it
};

/** Straightness of the field's paths from `noise` (n standard-normal samples, flat). */
export async function straightness(field: VelocityField, noise: Float64Array, { steps }: StraightnessSettings = STRAIGHTNESS_DEFAULTS): Promise<number> {
  const start = noise.map((z) => T_MAX * z);
  const velocities: Float64Array[] = [];
  const end = await integrate(field, start, uniformTimes(T_MAX, 0, steps), 'euler', (_step, _t, _x, v) => velocities.push(v));
  let total = 0;
  for (const v of velocities) {
    for (let i = 0; i < v.length; i++) total += ((start[i]! - end[i]!) / T_MAX - v[i]!) ** 2;
  }
  return total / (velocities.length * noise.length);
}
