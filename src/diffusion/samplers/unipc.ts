// UniPC (Zhao et al. 2023), B(h) = 1 − e^{−h} ("bh2"), x0 prediction, in lambda. From
// x_i with prediction m_i and h = lambda_{i+1} − lambda_i:
//   base      x~ = (sigma_{i+1}/sigma_i)·x_i + alpha_{i+1}·(1 − e^{−h})·m_i   (DDIM);
//   UniP      x_{i+1} = x~ + alpha_{i+1}·B(h)·Σ_k a_k·D_k with D_k = (m_{i−k} − m_i)/r_k,
//             r_k = (lambda_{i−k} − lambda_i)/h, and a solving Σ_k a_k·r_k^{j−1} =
//             j!·h·phi_{j+1}(−h)/B(h) for j = 1..p−1 (order p);
//   UniC      once m_{i+1} is evaluated at the predicted x_{i+1}, redo the step with
//             D_p = m_{i+1} − m_i (r = 1) added and j up to p: order p + 1 for no extra
//             evaluation, since m_{i+1} is then reused as is by the next predictor.
// As in the reference implementation the order-2 predictor uses a = 1/2 and the order-1
// corrector a = 1/2. Warm-up: p = min(order, i + 1). The step into the data end (h = ∞)
// is the order-1 base step x = alpha·m_i and is not corrected (no evaluation follows it).

import { combine, phi, SamplerRun, solveLinear, type Sampler } from './common.js';

export interface UniPcSettings {
  /** Predictor order p, 1..3 (default 2); the corrector raises it by one. */
  order?: number;
  /** Apply the UniC corrector (default true). */
  corrector?: boolean;
}

/** What the corrector needs to redo the step just taken. */
interface PendingStep {
  base: Float64Array;
  scale: number;
  ratios: number[];
  differences: Float64Array[];
  targets: number[];
  previousPrediction: Float64Array;
}

function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1);
}

export const uniPc: Sampler<UniPcSettings> = async (denoiser, process, noise, grid, options = {}) => {
  const order = options.order ?? 2;
  const useCorrector = options.corrector ?? true;
  if (![1, 2, 3].includes(order)) throw new Error(`unipc: order must be 1, 2 or 3, got ${order}`);
  const run = new SamplerRun(denoiser, process, noise, grid, options);
  const lambdas: number[] = [];
  const predictions: Float64Array[] = [];
  let pending: PendingStep | undefined;
  let x = run.start;
  for (let i = 0; i < run.steps; i++) {
    const [t, next] = [grid[i]!, grid[i + 1]!];
    // The corrector below rebuilds x from the previous step, so a beforeStep change of x reaches only this evaluation.
    run.enterStep(i, t, x);
    const prediction = await run.denoise(x, t, i, 0);
    if (pending && useCorrector) {
      const { base, scale, ratios, differences, targets, previousPrediction } = pending;
      const last = combine([1, prediction], [-1, previousPrediction]);
      const allRatios = [...ratios, 1];
      const coefficients = allRatios.length === 1 ? [0.5] : solveLinear(targets.map((_, j) => allRatios.map((r) => r ** j)), targets);
      x = combine([1, base], ...[...differences, last].map((d, k) => [scale * coefficients[k]!, d] as const));
    }
    if (await run.report(i, t, x, prediction)) return run.stopped(x, i);
    lambdas.unshift(process.lambda(t));
    predictions.unshift(prediction);
    const alphaNext = process.alpha(next);
    if (process.sigma(next) === 0) {
      x = combine([alphaNext, prediction]);
      pending = undefined;
      continue;
    }
    const h = process.lambda(next) - lambdas[0]!;
    const used = Math.min(order, predictions.length);
    const B = -Math.expm1(-h);
    const base = combine([process.sigma(next) / process.sigma(t), x], [alphaNext * B, prediction]);
    const ratios = lambdas.slice(1, used).map((l) => (l - lambdas[0]!) / h);
    const differences = ratios.map((r, k) => combine([1 / r, predictions[k + 1]!], [-1 / r, prediction]));
    const targets = Array.from({ length: used }, (_, j) => (factorial(j + 1) * h * phi(j + 2, -h)) / B);
    const scale = alphaNext * B;
    let coefficients: number[] = [];
    if (used === 2) coefficients = [0.5];
    else if (used === 3) coefficients = solveLinear(targets.slice(0, 2).map((_, j) => ratios.map((r) => r ** j)), targets.slice(0, 2));
    x = combine([1, base], ...differences.map((d, k) => [scale * coefficients[k]!, d] as const));
    pending = { base, scale, ratios, differences, targets, previousPrediction: prediction };
    predictions.length = lambdas.length = Math.min(predictions.length, order);
  }
  return run.finish(x);
};
