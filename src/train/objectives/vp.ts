// VP (DDPM's linear schedule in continuous time): t uniform over the process's range, the network
// predicts the noise eps from x_t = alpha·x0 + sigma·eps.

import { toDenoiser } from '../../diffusion/parameterisation.js';
import { vpLinear } from '../../diffusion/process.js';
import { noiseLabel } from '../../diffusion/noise-label.js';
import type { Objective } from './objective.js';

export const vpObjective: Objective = {
  process: () => vpLinear(),
  sampleLevel(_settings, process, _normal, uniform) {
    const t = process.tMin + (process.tMax - process.tMin) * uniform;
    return { alpha: process.alpha(t), sigma: process.sigma(t) };
  },
  prepare(_settings, { alpha, sigma }, x, eps, input, target) {
    for (let i = 0; i < x.length; i++) {
      input[i] = alpha * x[i]! + sigma * eps[i]!;
      target[i] = eps[i]!;
    }
  },
  denoiser: (_settings, process, network) => toDenoiser((x, t, call) => network(x, noiseLabel(process.rho(t)), call), 'eps', process),
  pair(t) {
    // The eps network reads x_vp = alpha·(x0 + rho·z) with alpha = 1/√(1 + rho²); D = x_vp/alpha − rho·F.
    const rho = t / (1 - t);
    const alpha = 1 / Math.sqrt(1 + rho * rho);
    return { input: alpha / (1 - t), targetData: 0, targetNoise: 1, velocity: 1 / (1 - t), denoisedInput: 1 / alpha, denoisedOutput: -rho };
  },
};
