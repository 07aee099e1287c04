// Rectified flow: x_t = (1 − t)·x0 + t·eps with t uniform or logit-normal (SD3), the network predicts
// the velocity eps − x0.

import { toDenoiser } from '../../diffusion/parameterisation.js';
import { rectifiedFlow } from '../../diffusion/process.js';
import { noiseLabel } from '../../diffusion/noise-label.js';
import type { Objective } from './objective.js';

export const rfObjective: Objective = {
  process: (settings) => rectifiedFlow(settings.rfTMax === undefined ? {} : { tMax: settings.rfTMax }),
  sampleLevel(settings, process, normal, uniform) {
    const t = settings.rfTime === 'uniform'
      ? process.tMin + (process.tMax - process.tMin) * uniform
      : 1 / (1 + Math.exp(-(settings.logitMean + settings.logitStd * normal)));
    return { alpha: process.alpha(t), sigma: process.sigma(t) };
  },
  prepare(_settings, { alpha, sigma }, x, eps, input, target) {
    for (let i = 0; i < x.length; i++) {
      input[i] = alpha * x[i]! + sigma * eps[i]!;
      target[i] = eps[i]! - x[i]!;
    }
  },
  denoiser: (_settings, process, network) => toDenoiser((x, t, call) => network(x, noiseLabel(process.rho(t)), call), 'velocity', process),
  pair: (t) => ({ input: 1, targetData: -1, targetNoise: 1, velocity: 1, denoisedInput: 1, denoisedOutput: -t }),
};
