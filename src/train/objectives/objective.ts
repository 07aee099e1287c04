// What an objective is, EDM-style: the process it trains on, how it samples a training noise level,
// how it prepares a sample (network input and regression target), how its network reads as a
// denoiser, and how that network sees a reflow pair. One file per objective implements it.

import type { DenoiseCall, Denoiser } from '../../diffusion/denoiser.js';
import type { Process } from '../../diffusion/process.js';

export type ObjectiveName = 'edm' | 'vp' | 'rf';

export interface ObjectiveSettings {
  name: ObjectiveName;
  sigmaData: number; // EDM: standard deviation of the data (images in [-1, 1] are close to 0.5)
  pMean: number; // EDM: mean of log sigma during training
  pStd: number; // EDM: standard deviation of log sigma during training
  rfTime: 'uniform' | 'logit-normal'; // rectified flow: distribution of t during training
  logitMean: number; // rectified flow, logit-normal t: mean of logit(t)
  logitStd: number; // rectified flow, logit-normal t: standard deviation of logit(t)
  rfTMax?: number; // rectified flow: the noisiest time, where training ends and samplers start (absent: the process default 1 − 1e-5)
  /**
   * The objective whose parameterisation the network has, when it differs from `name` (absent:
   * the same). A reflow student samples rectified flow but keeps its teacher's network, e.g. EDM's
   * preconditioned denoiser, so that it starts from the teacher's weights.
   */
  network?: ObjectiveName;
}

/** A training sample's noise level: x_t = alpha·x0 + sigma·eps. */
export interface NoiseLevel {
  alpha: number;
  sigma: number;
}

/** The network's raw output for inputs x at one noise label (the label is log(rho)/4 for every objective). */
export type LabelledNetwork = (x: Float64Array, label: number, call: DenoiseCall) => Promise<Float64Array>;

/** How a network of one parameterisation sees the reflow pair point x_t = (1 − t)·x0 + t·z at rectified-flow time t. */
export interface PairCoefficients {
  input: number; // network input = input·x_t
  targetData: number; // T = targetData·x0 + targetNoise·z
  targetNoise: number;
  velocity: number; // k in v̂ − v = k·(F − T)
  denoisedInput: number; // the x0 prediction D = denoisedInput·(network input) + denoisedOutput·F
  denoisedOutput: number;
}

export interface Objective {
  /** The process it trains on, which its samplers integrate. */
  process(settings: ObjectiveSettings): Process;
  /** One training sample's noise level from a standard-normal and a uniform draw of its own. */
  sampleLevel(settings: ObjectiveSettings, process: Process, normal: number, uniform: number): NoiseLevel;
  /** Writes one sample's network input and regression target from its clean values x and noise eps. */
  prepare(settings: ObjectiveSettings, level: NoiseLevel, x: Float32Array, eps: Float32Array, input: Float32Array, target: Float32Array): void;
  /** The network as a denoiser under the objective's own process. */
  denoiser(settings: ObjectiveSettings, process: Process, network: LabelledNetwork): Denoiser;
  /** How the network sees a reflow pair at rectified-flow time t, 0 < t < 1, i.e. noise level rho = t/(1 − t). */
  pair(t: number, sigmaData: number): PairCoefficients;
}
