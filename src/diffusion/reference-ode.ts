// The reference solution of the probability-flow ODE, to measure samplers against.
//
// Every process reduces to one ODE in v = x/alpha and rho = sigma/alpha: dv/drho = E[eps | v]
// (DEIS's rho-space form). For a Gaussian mixture the right-hand side is smooth all the
// way to rho = 0, where it is exactly 0, and it does not involve alpha's or sigma's
// singular derivatives at the ends (VP's sigma ~ √t near t = 0), so it is the
// well-conditioned variable to integrate in. Dormand–Prince 5(4) with step-size control
// integrates it at a tight tolerance.

import { posterior, type GaussianMixture } from './gmm.js';
import type { Process } from './process.js';

export interface OdeOptions {
  /** Relative tolerance per component (default 1e-10). */
  relativeTolerance?: number;
  /** Absolute tolerance per component (default 1e-10). */
  absoluteTolerance?: number;
  /** Give up after this many accepted plus rejected steps (default 100000). */
  maxSteps?: number;
}

export interface OdeSolution {
  y: Float64Array;
  acceptedSteps: number;
  rejectedSteps: number;
  evaluations: number;
}

// Dormand & Prince (1980) RK5(4)7M: nodes, stage coefficients, 5th-order weights, and the
// difference between the 5th- and 4th-order weights (the error estimate).
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const A = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
const B5 = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0];
const B4 = [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40];

/** Integrates y' = f(t, y) from t0 to t1 (either direction) with adaptive Dormand–Prince 5(4). */
export function dormandPrince(
  f: (t: number, y: Float64Array) => Float64Array,
  y0: Float64Array,
  t0: number,
  t1: number,
  options: OdeOptions = {},
): OdeSolution {
  const rtol = options.relativeTolerance ?? 1e-10;
  const atol = options.absoluteTolerance ?? 1e-10;
  const maxSteps = options.maxSteps ?? 100000;
  const direction = Math.sign(t1 - t0);
  const n = y0.length;
  let t = t0;
  let y = Float64Array.from(y0);
  let h = direction * Math.abs(t1 - t0) * 1e-3;
  let k1 = f(t, y);
  let evaluations = 1;
  let accepted = 0;
  let rejected = 0;
  const stages: Float64Array[] = new Array(7);
  while (direction * (t1 - t) > 0) {
    if (accepted + rejected >= maxSteps) throw new Error(`dormandPrince: no convergence after ${maxSteps} steps (t = ${t})`);
    if (direction * (t + h - t1) > 0) h = t1 - t;
    stages[0] = k1;
    const trial = new Float64Array(n);
    for (let s = 1; s < 7; s++) {
      const point = Float64Array.from(y);
      for (let j = 0; j < s; j++) {
        const a = A[s]![j]!;
        if (a !== 0) for (let i = 0; i < n; i++) point[i] += h * a * stages[j]![i]!;
      }
      // The last stage is evaluated at the 5th-order solution itself (first same as last).
      stages[s] = f(s === 6 ? t + h : t + C[s]! * h, point);
      evaluations++;
      if (s === 6) trial.set(point);
    }
    let errorNorm = 0;
    for (let i = 0; i < n; i++) {
      let estimate = 0;
      for (let s = 0; s < 7; s++) estimate += (B5[s]! - B4[s]!) * stages[s]![i]!;
      const scale = atol + rtol * Math.max(Math.abs(y[i]!), Math.abs(trial[i]!));
      errorNorm = Math.max(errorNorm, Math.abs(h * estimate) / scale);
    }
    const factor = errorNorm === 0 ? 5 : Math.min(5, Math.max(0.2, 0.9 * errorNorm ** -0.2));
    if (errorNorm <= 1) {
      t = direction * (t1 - (t + h)) <= 0 ? t1 : t + h;
      y = trial;
      k1 = stages[6]!;
      accepted++;
    } else {
      rejected++;
    }
    h *= factor;
  }
  return { y, acceptedSteps: accepted, rejectedSteps: rejected, evaluations };
}

/**
 * The probability-flow ODE solution at the data end t = 0 from x at time tStart, for the exact
 * mixture denoiser: integrates dv/drho = E[eps | v] from rho(tStart) to 0 and returns x = v
 * (alpha = 1 at the data end).
 */
export function referenceSolution(mixture: GaussianMixture, process: Process, x: Float64Array, tStart: number, options: OdeOptions = {}): OdeSolution {
  const alpha = process.alpha(tStart);
  const v0 = x.map((xi) => xi / alpha);
  return dormandPrince((rho, v) => posterior(mixture, v, rho).noise, v0, process.rho(tStart), 0, options);
}
