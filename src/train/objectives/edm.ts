// EDM (Karras et al. 2022): log sigma ~ N(pMean, pStd²), the preconditioned denoiser
// D = c_skip·x + c_out·F(c_in·x, c_noise), trained to regress F on (x0 − c_skip·x)/c_out.

import { edmDenoiser, edmPreconditioning } from '../../diffusion/parameterisation.js';
import { edm } from '../../diffusion/process.js';
import type { Objective } from './objective.js';

export const edmObjective: Objective = {
  process: () => edm(),
  sampleLevel: (settings, _process, normal) => ({ alpha: 1, sigma: Math.exp(settings.pMean + settings.pStd * normal) }),
  prepare(settings, { alpha, sigma }, x, eps, input, target) {
    const { cIn, cSkip, cOut } = edmPreconditioning(sigma, settings.sigmaData);
    for (let i = 0; i < x.length; i++) {
      const noisy = alpha * x[i]! + sigma * eps[i]!;
      input[i] = cIn * noisy;
      target[i] = (x[i]! - cSkip * noisy) / cOut;
    }
  },
  // EDM's c_noise = log(sigma)/4 is exactly the noise label.
  denoiser: (settings, process, network) => edmDenoiser(network, process, settings.sigmaData),
  pair(t, sigmaData) {
    // x_edm = x_t/(1 − t) = x0 + rho·z at sigma = rho = t/(1 − t), what rectified flow++ does.
    const rho = t / (1 - t);
    const { cSkip, cOut, cIn } = edmPreconditioning(rho, sigmaData);
    return { input: cIn / (1 - t), targetData: (1 - cSkip) / cOut, targetNoise: (-cSkip * rho) / cOut, velocity: -cOut / t, denoisedInput: cSkip / cIn, denoisedOutput: cOut };
  },
};
