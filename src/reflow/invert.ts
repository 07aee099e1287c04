// Inversion: the noise a sample came from, by integrating the flow's ODE backwards, from data
// (small t) to noise (t = T_MAX). A reflowed model's near-straight paths make this accurate in few
// steps, which a distilled one-step generator cannot offer. As rectified flow++ does, the integration
// starts at t = 1e-3, as the velocity is undefined at t = 0.

import { T_MAX, type OdeMethod, type VelocityField, integrate, uniformTimes } from './velocity.js';

export const INVERSION_START = 1e-3; // rectified flow++'s value

/** The standard-normal noise z whose path ends at `data` (n samples, flat): x(T_MAX)/T_MAX, the inverse of how samplers start. */
export async function invert(field: VelocityField, data: Float64Array, steps: number, method: OdeMethod, start = INVERSION_START): Promise<Float64Array> {
  const end = await integrate(field, data, uniformTimes(start, T_MAX, steps), method);
  return end.map((x) => x / T_MAX);
}
