// Inversion: the noise a sample came from, by integrating the flow's ODE backwards, from data
// (small t) to noise (the model's noisiest time T, where its samplers start). A reflowed model's
// near-straight paths make this accurate in few steps, which a distilled one-step generator cannot
// offer. As rectified flow++ does, the integration starts at t = 1e-3: the velocity is undefined at 0.

import type { TrainedModel } from '../pipeline/model-store.js';
import { type ModelVelocity, type NoiseBatches, type OdeMethod, type VelocityField, integrate, meanOverNoise, uniformTimes } from './velocity.js';

export const INVERSION_START = 1e-3; // rectified flow++'s value

/** The standard-normal noise z whose path from T ends at `data` (n samples, flat): x(T)/T, the inverse of how samplers start (x_T = T·z). */
export async function invert(field: VelocityField, data: Float64Array, steps: number, method: OdeMethod, tMax: number, start = INVERSION_START): Promise<Float64Array> {
  const end = await integrate(field, data, uniformTimes(start, tMax, steps), method);
  return end.map((x) => x / tMax);
}

export interface RoundTripSettings extends NoiseBatches {
  steps: number; // steps of both the sampling and the inversion
  method: OdeMethod;
}

export const ROUND_TRIP_DEFAULTS: RoundTripSettings = {
  steps: 32, // enough for a near-straight flow to round-trip closely
  method: 'heun',
  n: 256, // an RMS error to a few per cent
  seed: 0,
  batch: 256,
};

/** RMS difference between noise and its reconstruction: sample it (ODE from the model's noisiest time to 0), then invert the sample. */
export function modelRoundTrip(trained: TrainedModel, velocity: ModelVelocity, settings: RoundTripSettings = ROUND_TRIP_DEFAULTS): Promise<number> {
  return meanOverNoise(trained, velocity, settings, 'round-trip-noise', async (field, noise) => {
    const { tMax } = velocity;
    const sample = await integrate(field, noise.map((z) => tMax * z), uniformTimes(tMax, 0, settings.steps), settings.method);
    const recovered = await invert(field, sample, settings.steps, settings.method, tMax);
    return recovered.reduce((total, z, i) => total + (z - noise[i]!) ** 2, 0) / noise.length;
  }).then(Math.sqrt);
}
