// The one noise-label convention: every network is told its noise level rho = sigma/alpha (EDM's
// sigma) as log(rho)/4, EDM's c_noise. Training, sampling, caching and imported graphs all use it.

/** The network's noise input for noise level rho = sigma/alpha. */
export const noiseLabel = (rho: number): number => Math.log(rho) / 4;

/** The noise level sigma/alpha that a noise label encodes: noiseLabel's inverse. */
export const noiseLevel = (label: number): number => Math.exp(4 * label);
