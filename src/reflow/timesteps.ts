// Where on rectified-flow time t ∈ (0, 1) reflow training spends its samples. The plain reflow loss
// is largest near both ends and smallest in the middle (rectified flow++, Fig. 3), so its U-shaped
// density p(t) ∝ cosh(a·(t − 1/2)) puts more samples where the error is.
//
// The U-shaped density is sampled exactly by inverting its CDF,
//   F(t) = (sinh(a·(t − 1/2)) + sinh(a/2)) / (2·sinh(a/2)),   t = 1/2 + asinh((2u − 1)·sinh(a/2))/a,
// which is the distribution rectified flow++'s code draws as a mixture (s from a·e^{as}/(e^a − 1),
// replaced by 1 − s with probability 1/2). Every distribution is then mapped affinely onto
// [epsilon, 1 − epsilon], as that code does, because the velocity is undefined at both ends; the
// student then samples from t = 1 − epsilon.

import { InputError } from '../engine/input-error.js';

export type TimeDistributionName = 'uniform' | 'logit-normal' | 'u-shaped';
export const timeDistributionNames: readonly TimeDistributionName[] = ['uniform', 'logit-normal', 'u-shaped'];

export interface TimeDistribution {
  kind: TimeDistributionName;
  uShapeA: number; // u-shaped: a in cosh(a·(t − 1/2)); larger is more U-shaped
  logitMean: number; // logit-normal: mean of logit(t)
  logitStd: number; // logit-normal: standard deviation of logit(t)
  epsilon: number; // times are mapped onto [epsilon, 1 − epsilon]
}

export const TIME_DISTRIBUTION_DEFAULTS: Omit<TimeDistribution, 'kind'> = {
  uShapeA: 4, // rectified flow++'s value
  logitMean: 0, // SD3's value
  logitStd: 1, // SD3's value
  // Not rectified flow++'s 1e-5: the toolkit's networks embed the noise label log(t/(1 − t))/4 with
  // random Fourier features, which do not extrapolate, and a toy2d student trained to 1 − 1e-5
  // (labels up to 2.9, above 1.7 in 0.2% of samples) made 1-step samples twice as far from the data
  // from there as from 1 − 1e-3 (docs/results/reflow.md). The student samples from 1 − epsilon.
  epsilon: 1e-3,
};

export function timeDistribution(kind: string, overrides: Partial<Omit<TimeDistribution, 'kind'>> = {}): TimeDistribution {
  if (!timeDistributionNames.includes(kind as TimeDistributionName)) throw new InputError(`unknown time distribution '${kind}' (known: ${timeDistributionNames.join(', ')})`);
  const distribution = { ...TIME_DISTRIBUTION_DEFAULTS, ...overrides, kind: kind as TimeDistributionName };
  if (!(distribution.uShapeA > 0)) throw new InputError(`the u-shaped time distribution needs a > 0, got ${distribution.uShapeA}`);
  if (!(distribution.logitStd > 0)) throw new InputError(`the logit-normal time distribution needs a standard deviation > 0, got ${distribution.logitStd}`);
  if (!(distribution.epsilon >= 0 && distribution.epsilon < 0.5)) throw new InputError(`time epsilon must be in [0, 0.5), got ${distribution.epsilon}`);
  return distribution;
}

/** The U-shaped density on [0, 1] (before the epsilon map): a·cosh(a·(t − 1/2)) / (2·sinh(a/2)). */
export function uShapedDensity(t: number, a: number): number {
  return (a * Math.cosh(a * (t - 0.5))) / (2 * Math.sinh(a / 2));
}

export function uShapedCdf(t: number, a: number): number {
  return (Math.sinh(a * (t - 0.5)) + Math.sinh(a / 2)) / (2 * Math.sinh(a / 2));
}

export function uShapedQuantile(u: number, a: number): number {
  return 0.5 + Math.asinh((2 * u - 1) * Math.sinh(a / 2)) / a;
}

/**
 * Times for a batch from one uniform u ∈ [0, 1) and one standard normal per sample (the
 * logit-normal uses the normal, the others the uniform), so a step's times depend only on its draws.
 */
export function sampleTimes(distribution: TimeDistribution, uniform: Float64Array, normal: Float64Array): Float64Array {
  const { epsilon } = distribution;
  return uniform.map((u, i) => {
    let t: number;
    switch (distribution.kind) {
      case 'uniform': t = u; break;
      case 'u-shaped': t = uShapedQuantile(u, distribution.uShapeA); break;
      case 'logit-normal': t = 1 / (1 + Math.exp(-(distribution.logitMean + distribution.logitStd * normal[i]!))); break;
    }
    return epsilon + (1 - 2 * epsilon) * t;
  });
}
