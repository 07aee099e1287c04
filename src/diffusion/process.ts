// Forward (noising) processes, all in one form: x_t = alpha(t)·x0 + sigma(t)·eps.
//
// Every process runs from its data end t = 0, where sigma = 0 and alpha = 1, to its noisy
// end tMax. Samplers work through alpha and sigma and two derived coordinates:
//   rho(t)    = sigma/alpha       (the noise level of x/alpha; EDM's sigma; DEIS's rho)
//   lambda(t) = log(alpha/sigma) = -log(rho)   (half the log-SNR)
// Both are monotone in t, so every process also gives t(rho) and t(lambda).

import { InputError } from '../engine/input-error.js';

export type ProcessName = 'vp' | 'vp-cosine' | 'ddpm' | 've' | 'edm' | 'rf';

export interface Process {
  readonly name: ProcessName;
  /** Noisiest time: samplers start here unless a grid says otherwise. */
  readonly tMax: number;
  /** Smallest positive time grids place before their final step to the data end t = 0. */
  readonly tMin: number;
  alpha(t: number): number;
  sigma(t: number): number;
  /** d alpha / dt and d sigma / dt (one-sided at the knots of the discrete schedule). */
  alphaDot(t: number): number;
  sigmaDot(t: number): number;
  /** sigma/alpha, evaluated without cancellation near both ends. */
  rho(t: number): number;
  lambda(t: number): number;
  tFromRho(rho: number): number;
  tFromLambda(lambda: number): number;
  /** Times where alpha and sigma are not smooth (the discrete schedule's knots), for quadrature to split at. */
  readonly knots?: Float64Array;
}

interface ProcessDefinition {
  name: ProcessName;
  tMax: number;
  tMin: number;
  alpha(t: number): number;
  sigma(t: number): number;
  alphaDot(t: number): number;
  sigmaDot(t: number): number;
  rho(t: number): number;
  tFromRho(rho: number): number;
  knots?: Float64Array;
}

function makeProcess(definition: ProcessDefinition): Process {
  return {
    ...definition,
    lambda: (t) => -Math.log(definition.rho(t)),
    tFromLambda: (lambda) => definition.tFromRho(Math.exp(-lambda)),
  };
}

/**
 * Variance-preserving processes are fixed by alphaBar(t) = alpha²: sigma² = 1 − alphaBar and
 * rho² = 1/alphaBar − 1. `oneMinusAlphaBar` is given separately so that sigma keeps its
 * precision near t = 0, where alphaBar is within rounding of 1.
 */
function variancePreserving(spec: {
  name: ProcessName;
  tMax: number;
  tMin: number;
  alphaBar(t: number): number;
  oneMinusAlphaBar(t: number): number;
  alphaBarDot(t: number): number;
  tFromRho(rho: number): number;
  knots?: Float64Array;
}): Process {
  const alpha = (t: number) => Math.sqrt(spec.alphaBar(t));
  const sigma = (t: number) => Math.sqrt(spec.oneMinusAlphaBar(t));
  return makeProcess({
    name: spec.name,
    tMax: spec.tMax,
    tMin: spec.tMin,
    alpha,
    sigma,
    alphaDot: (t) => spec.alphaBarDot(t) / (2 * alpha(t)),
    sigmaDot: (t) => -spec.alphaBarDot(t) / (2 * sigma(t)),
    rho: (t) => Math.sqrt(spec.oneMinusAlphaBar(t) / spec.alphaBar(t)),
    tFromRho: spec.tFromRho,
    ...(spec.knots ? { knots: spec.knots } : {}),
  });
}

/** Score-SDE VP with linear beta(t) = beta0 + t(beta1 − beta0): log alphaBar = −t²(beta1 − beta0)/2 − t·beta0. */
export function vpLinear({ beta0 = 0.1, beta1 = 20, tMin = 1e-3 } = {}): Process {
  if (!(beta0 > 0) || !(beta1 >= beta0)) throw new Error(`vpLinear: need 0 < beta0 <= beta1, got beta0=${beta0}, beta1=${beta1}`);
  const spread = beta1 - beta0;
  const logAlphaBar = (t: number) => -0.5 * t * t * spread - t * beta0;
  return variancePreserving({
    name: 'vp',
    tMax: 1,
    tMin,
    alphaBar: (t) => Math.exp(logAlphaBar(t)),
    oneMinusAlphaBar: (t) => -Math.expm1(logAlphaBar(t)),
    alphaBarDot: (t) => -(beta0 + t * spread) * Math.exp(logAlphaBar(t)),
    // Solve t²·spread/2 + t·beta0 = log(1 + rho²) with the root formula that does not cancel.
    tFromRho: (rho) => {
      const target = Math.log1p(rho * rho);
      return (2 * target) / (beta0 + Math.sqrt(beta0 * beta0 + 2 * spread * target));
    },
  });
}

/**
 * Improved-DDPM cosine schedule: alphaBar(t) = cos²(a(t))/cos²(a(0)), a(t) = (π/2)(t + s)/(1 + s).
 * tMax = 0.9946 keeps lambda finite, as alphaBar(1) = 0.
 */
export function vpCosine({ s = 0.008, tMax = 0.9946, tMin = 1e-3 } = {}): Process {
  const angle = (t: number) => ((Math.PI / 2) * (t + s)) / (1 + s);
  const angleRate = Math.PI / (2 * (1 + s));
  const a0 = angle(0);
  const cos0 = Math.cos(a0);
  const sin0 = Math.sin(a0);
  return variancePreserving({
    name: 'vp-cosine',
    tMax,
    tMin,
    alphaBar: (t) => (Math.cos(angle(t)) / cos0) ** 2,
    // cos²(a0) − cos²(a) = sin(a − a0)·sin(a + a0): no cancellation near t = 0.
    oneMinusAlphaBar: (t) => (Math.sin(angle(t) - a0) * Math.sin(angle(t) + a0)) / (cos0 * cos0),
    alphaBarDot: (t) => (-2 * Math.cos(angle(t)) * Math.sin(angle(t)) * angleRate) / (cos0 * cos0),
    // cos(a) = cos0/√(1 + rho²)  ⇔  tan(a) = √(rho² + sin0²)/cos0; a − a0 by the tangent difference formula.
    tFromRho: (rho) => {
      const tanA = Math.sqrt(rho * rho + sin0 * sin0) / cos0;
      const tanDifference = (rho * rho) / (cos0 * (Math.sqrt(rho * rho + sin0 * sin0) + sin0));
      const difference = Math.atan2(tanDifference, 1 + tanA * (sin0 / cos0));
      return difference / angleRate;
    },
  });
}

/**
 * Discrete DDPM (Ho et al. 2020): `steps` betas linear from betaStart to betaEnd. Knot k = 0..steps
 * sits at t = k/steps with alphaBar_0 = 1 (clean data) and alphaBar_k = Π_{i<=k}(1 − beta_i);
 * alphaBar is linear between knots. A network trained on integer timesteps 0..steps−1 sees
 * timestep index steps·t − 1.
 */
export function ddpmDiscrete({ steps = 1000, betaStart = 1e-4, betaEnd = 0.02 } = {}): Process {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`ddpmDiscrete: steps must be a positive integer, got ${steps}`);
  return ddpmFromBetas(Float64Array.from({ length: steps }, (_, i) => (steps === 1 ? betaStart : betaStart + ((betaEnd - betaStart) * i) / (steps - 1))));
}

/** Discrete DDPM from its betas (beta_1..beta_N, any schedule), with the knots and timesteps of ddpmDiscrete. */
export function ddpmFromBetas(betas: Float64Array): Process {
  const steps = betas.length;
  if (steps < 1 || !betas.every((b) => b > 0 && b < 1)) throw new Error('ddpmFromBetas: need at least one beta, each in (0, 1)');
  const alphaBarKnots = new Float64Array(steps + 1);
  const oneMinusKnots = new Float64Array(steps + 1);
  let logAlphaBar = 0;
  alphaBarKnots[0] = 1;
  for (let k = 1; k <= steps; k++) {
    const beta = betas[k - 1]!;
    logAlphaBar += Math.log1p(-beta);
    alphaBarKnots[k] = Math.exp(logAlphaBar);
    oneMinusKnots[k] = -Math.expm1(logAlphaBar);
  }
  // Knot segment holding t, clamped so that t = 1 uses the last segment.
  const segment = (t: number) => {
    const position = t * steps;
    const k = Math.min(steps - 1, Math.max(0, Math.floor(position)));
    return { k, fraction: position - k };
  };
  const interpolate = (knots: Float64Array, t: number) => {
    const { k, fraction } = segment(t);
    return knots[k]! + fraction * (knots[k + 1]! - knots[k]!);
  };
  return variancePreserving({
    name: 'ddpm',
    tMax: 1,
    tMin: 1 / steps,
    knots: Float64Array.from({ length: steps + 1 }, (_, k) => k / steps),
    alphaBar: (t) => interpolate(alphaBarKnots, t),
    oneMinusAlphaBar: (t) => interpolate(oneMinusKnots, t),
    alphaBarDot: (t) => {
      const { k } = segment(t);
      return (alphaBarKnots[k + 1]! - alphaBarKnots[k]!) * steps;
    },
    tFromRho: (rho) => {
      // 1 − alphaBar = rho²/(1 + rho²) increases with t: binary search its knots, then solve the
      // segment in whichever of alphaBar or 1 − alphaBar is small, as that one has full precision.
      const oneMinus = (rho * rho) / (1 + rho * rho);
      let lo = 0;
      let hi = steps;
      if (oneMinus >= oneMinusKnots[steps]!) lo = steps - 1;
      else {
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          if (oneMinusKnots[mid]! <= oneMinus) lo = mid;
          else hi = mid;
        }
      }
      const fraction = oneMinus < 0.5
        ? (oneMinus - oneMinusKnots[lo]!) / (oneMinusKnots[lo + 1]! - oneMinusKnots[lo]!)
        : (alphaBarKnots[lo]! - 1 / (1 + rho * rho)) / (alphaBarKnots[lo]! - alphaBarKnots[lo + 1]!);
      return (lo + fraction) / steps;
    },
  });
}

/** Variance-exploding process in EDM's parameterisation: x = x0 + √t·eps, t ∈ [0, sigmaMax²]. */
export function varianceExploding({ sigmaMax = 80, sigmaMin = 0.002 } = {}): Process {
  return makeProcess({
    name: 've',
    tMax: sigmaMax * sigmaMax,
    tMin: sigmaMin * sigmaMin,
    alpha: () => 1,
    sigma: (t) => Math.sqrt(t),
    alphaDot: () => 0,
    sigmaDot: (t) => 0.5 / Math.sqrt(t),
    rho: (t) => Math.sqrt(t),
    tFromRho: (rho) => rho * rho,
  });
}

/** EDM (Karras et al. 2022): x = x0 + t·eps, so t is the noise level sigma itself. */
export function edm({ sigmaMax = 80, sigmaMin = 0.002 } = {}): Process {
  return makeProcess({
    name: 'edm',
    tMax: sigmaMax,
    tMin: sigmaMin,
    alpha: () => 1,
    sigma: (t) => t,
    alphaDot: () => 0,
    sigmaDot: () => 1,
    rho: (t) => t,
    tFromRho: (rho) => rho,
  });
}

/**
 * Rectified flow: x_t = (1 − t)·x0 + t·eps. tMax = 1 − 1e-5 as in rectified flow++, because
 * at t = 1 alpha = 0 and rho is infinite.
 */
export function rectifiedFlow({ tMax = 1 - 1e-5, tMin = 2e-3 } = {}): Process {
  return makeProcess({
    name: 'rf',
    tMax,
    tMin,
    alpha: (t) => 1 - t,
    sigma: (t) => t,
    alphaDot: () => -1,
    sigmaDot: () => 1,
    rho: (t) => t / (1 - t),
    tFromRho: (rho) => rho / (1 + rho),
  });
}

export const processNames: readonly ProcessName[] = ['vp', 'vp-cosine', 'ddpm', 've', 'edm', 'rf'];

/** A process with its default settings, by name. */
export function processByName(name: string): Process {
  switch (name) {
    case 'vp': return vpLinear();
    case 'vp-cosine': return vpCosine();
    case 'ddpm': return ddpmDiscrete();
    case 've': return varianceExploding();
    case 'edm': return edm();
    case 'rf': return rectifiedFlow();
  }
  throw new InputError(`unknown process '${name}' (known: ${processNames.join(', ')})`);
}

/** The sampler's starting point x_T = alpha(T)·0 + sigma(T)·noise: the data term is dropped, as its mean is 0 and alpha(T) ≈ 0. */
export function initialState(process: Process, tStart: number, noise: Float64Array): Float64Array {
  const sigma = process.sigma(tStart);
  return noise.map((z) => sigma * z);
}
