// DPM-Solver++ multistep (Lu et al. 2022) in lambda = log(alpha/sigma) with the x0
// prediction D. With h = lambda_{i+1} − lambda_i the exact step is
//   x_{i+1} = (sigma_{i+1}/sigma_i)·x_i + alpha_{i+1}·∫_0^h e^{u−h}·D(lambda_i + u) du,
// and D is replaced by a polynomial through past predictions:
//   order 1  D constant: DDIM;
//   order 2  DPM-Solver++(2M): the paper's D_i + (D_i − D_{i−1})/(2r), r = h_{i−1}/h;
//   order 3  D quadratic: Σ_m h^{m+1}·phi_{m+1}(−h)·D^(m)(lambda_i), derivatives of the
//            interpolating parabola (DPM-Solver++(3M)).
// Warm-up uses the orders the history allows. The step into the data end (sigma = 0) has
// h = ∞ and only the order-1 step is defined there (x = alpha·D_i), as in the reference
// implementations, so its error does not shrink unless the grid's last positive time does.

import { combine, phi, SamplerRun, type Sampler } from './common.js';

export interface DpmSolverSettings {
  /** Multistep order, 1..3 (default 2). */
  order?: number;
}

export const dpmSolverPlusPlus: Sampler<DpmSolverSettings> = async (denoiser, process, noise, grid, options = {}) => {
  const order = options.order ?? 2;
  if (![1, 2, 3].includes(order)) throw new Error(`dpmpp: order must be 1, 2 or 3, got ${order}`);
  const run = new SamplerRun(denoiser, process, noise, grid, options);
  const lambdas: number[] = [];
  const predictions: Float64Array[] = [];
  let x = run.start;
  for (let i = 0; i < run.steps; i++) {
    const [t, next] = [grid[i]!, grid[i + 1]!];
    const denoised = await run.beginStep(i, t, x);
    if (!denoised) return run.stopped(x, i);
    lambdas.unshift(process.lambda(t));
    predictions.unshift(denoised);
    const alphaNext = process.alpha(next);
    if (process.sigma(next) === 0) {
      x = combine([alphaNext, denoised]);
      continue;
    }
    const h = process.lambda(next) - lambdas[0]!;
    const decay = process.sigma(next) / process.sigma(t);
    const used = Math.min(order, predictions.length);
    if (used === 1) {
      x = combine([decay, x], [alphaNext * h * phi(1, -h), denoised]);
    } else if (used === 2) {
      const r = (lambdas[0]! - lambdas[1]!) / h;
      const extrapolated = combine([1 + 1 / (2 * r), predictions[0]!], [-1 / (2 * r), predictions[1]!]);
      x = combine([decay, x], [alphaNext * h * phi(1, -h), extrapolated]);
    } else {
      // Newton form of the parabola through (lambda_i, D_i), (lambda_{i−1}, D_{i−1}), (lambda_{i−2}, D_{i−2}).
      const [l0, l1, l2] = [lambdas[0]!, lambdas[1]!, lambdas[2]!];
      const first01 = combine([1 / (l0 - l1), predictions[0]!], [-1 / (l0 - l1), predictions[1]!]);
      const first12 = combine([1 / (l1 - l2), predictions[1]!], [-1 / (l1 - l2), predictions[2]!]);
      const second = combine([1 / (l0 - l2), first01], [-1 / (l0 - l2), first12]);
      const slope = combine([1, first01], [l0 - l1, second]);
      x = combine(
        [decay, x],
        [alphaNext * h * phi(1, -h), denoised],
        [alphaNext * h ** 2 * phi(2, -h), slope],
        [alphaNext * h ** 3 * phi(3, -h) * 2, second],
      );
    }
    predictions.length = lambdas.length = Math.min(predictions.length, order);
  }
  return run.finish(x);
};
