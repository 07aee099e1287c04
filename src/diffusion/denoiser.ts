// The one interface every sampler calls: a denoiser returning the x0 (data) prediction.
// A trained network implements it through the adapters in parameterisation.ts; the exact
// Gaussian mixture implements it in closed form (gmm.ts).

/** Which evaluation this is. Caches written later key on `step`, never on t, because t repeats in Heun-type samplers. */
export interface DenoiseCall {
  /** The sampler's step index: 0 is the first, noisiest step. */
  step: number;
  /** Which evaluation inside the step: 0 first; e.g. Heun's corrector is stage 1. */
  stage: number;
}

export interface Denoiser {
  /**
   * x holds a batch of n samples of size dim, flat, all at time t. Returns the x0 prediction
   * in the same layout. One call is one network evaluation (NFE), whatever n is.
   */
  denoise(x: Float64Array, t: number, call: DenoiseCall): Promise<Float64Array>;
}
