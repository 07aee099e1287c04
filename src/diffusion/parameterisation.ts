// Turns what a network predicts into the one denoiser form (the x0 prediction) and back,
// and EDM's preconditioning. With x = alpha·x0 + sigma·eps:
//   eps       the noise;
//   x0        the data;
//   v         Salimans & Ho's v = alpha·eps − sigma·x0;
//   velocity  dx/dt = alphaDot·x0 + sigmaDot·eps (flow matching / rectified flow: eps − x0);
//   score     ∇ log p_t(x) = −eps/sigma.

import type { DenoiseCall, Denoiser } from './denoiser.js';
import type { Process } from './process.js';
import { noiseLabel } from './noise-label.js';

export type Prediction = 'eps' | 'x0' | 'v' | 'velocity' | 'score';

export const predictions: readonly Prediction[] = ['eps', 'x0', 'v', 'velocity', 'score'];

/** A network's raw output at (x, t), before conversion. */
export type ModelFunction = (x: Float64Array, t: number, call: DenoiseCall) => Promise<Float64Array>;

/** x0 = c_x·x + c_p·prediction for each kind: both conversions are affine in x and the prediction. */
function toDataCoefficients(kind: Prediction, process: Process, t: number): { cx: number; cp: number } {
  const alpha = process.alpha(t);
  const sigma = process.sigma(t);
  switch (kind) {
    case 'x0': return { cx: 0, cp: 1 };
    case 'eps': return { cx: 1 / alpha, cp: -sigma / alpha };
    case 'score': return { cx: 1 / alpha, cp: (sigma * sigma) / alpha };
    case 'v': {
      // alpha·x − sigma·v = (alpha² + sigma²)·x0.
      const norm = alpha * alpha + sigma * sigma;
      return { cx: alpha / norm, cp: -sigma / norm };
    }
    case 'velocity': {
      // Solve x = alpha·x0 + sigma·eps and u = alphaDot·x0 + sigmaDot·eps for x0.
      const alphaDot = process.alphaDot(t);
      const sigmaDot = process.sigmaDot(t);
      const det = sigmaDot * alpha - sigma * alphaDot;
      return { cx: sigmaDot / det, cp: -sigma / det };
    }
  }
}

function checkLengths(what: string, x: Float64Array, other: Float64Array): void {
  if (x.length !== other.length) throw new Error(`${what}: prediction has ${other.length} values but x has ${x.length}`);
}

/** The x0 prediction from a prediction of the given kind at (x, t). */
export function toDenoised(kind: Prediction, prediction: Float64Array, x: Float64Array, t: number, process: Process): Float64Array {
  checkLengths(`toDenoised(${kind})`, x, prediction);
  const { cx, cp } = toDataCoefficients(kind, process, t);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = cx * x[i]! + cp * prediction[i]!;
  return out;
}

/** The inverse of toDenoised: what a model of the given kind would have predicted, given x0. */
export function fromDenoised(kind: Prediction, denoised: Float64Array, x: Float64Array, t: number, process: Process): Float64Array {
  checkLengths(`fromDenoised(${kind})`, x, denoised);
  const { cx, cp } = toDataCoefficients(kind, process, t);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (denoised[i]! - cx * x[i]!) / cp;
  return out;
}

/** Wraps a network predicting `kind` as a Denoiser. */
export function toDenoiser(model: ModelFunction, kind: Prediction, process: Process): Denoiser {
  if (!predictions.includes(kind)) throw new Error(`unknown prediction kind '${String(kind)}' (known: ${predictions.join(', ')})`);
  return {
    async denoise(x, t, call) {
      return toDenoised(kind, await model(x, t, call), x, t, process);
    },
  };
}

export interface EdmPreconditioning {
  cSkip: number;
  cOut: number;
  cIn: number;
  cNoise: number;
}

/** EDM's preconditioning at noise level sigma: D = c_skip·x + c_out·F(c_in·x; c_noise), with unit-variance network inputs and targets. */
export function edmPreconditioning(sigma: number, sigmaData = 0.5): EdmPreconditioning {
  if (!(sigma > 0)) throw new Error(`edmPreconditioning: sigma must be > 0, got ${sigma}`);
  const norm = sigma * sigma + sigmaData * sigmaData;
  return {
    cSkip: (sigmaData * sigmaData) / norm,
    cOut: (sigma * sigmaData) / Math.sqrt(norm),
    cIn: 1 / Math.sqrt(norm),
    cNoise: noiseLabel(sigma),
  };
}

/** The raw EDM network F: scaled input and c_noise in, raw output out. */
export type EdmNetwork = (scaledInput: Float64Array, cNoise: number, call: DenoiseCall) => Promise<Float64Array>;

/**
 * A Denoiser from an EDM-preconditioned network under any process: the network sees x/alpha
 * at EDM noise level rho = sigma/alpha, which is how EDM shares one network across schedules.
 */
export function edmDenoiser(network: EdmNetwork, process: Process, sigmaData = 0.5): Denoiser {
  return {
    async denoise(x, t, call) {
      const alpha = process.alpha(t);
      const { cSkip, cOut, cIn, cNoise } = edmPreconditioning(process.rho(t), sigmaData);
      // Plain loops, not map(): this runs at every network evaluation, on the whole batch.
      const n = x.length;
      const scaled = new Float64Array(n);
      const input = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        scaled[i] = x[i]! / alpha;
        input[i] = cIn * scaled[i]!;
      }
      const raw = await network(input, cNoise, call);
      checkLengths('edmDenoiser', x, raw);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = cSkip * scaled[i]! + cOut * raw[i]!;
      return out;
    },
  };
}
