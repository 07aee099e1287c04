// What every sampler shares: the function type, options, honest NFE counting, the per-step
// callback, and the little vector and exponential-integrator algebra the samplers use.

import type { RngStream } from '../../engine/rng.js';
import type { Denoiser } from '../denoiser.js';
import { validateGrid } from '../grids.js';
import { initialState, type Process } from '../process.js';

export interface StepInfo {
  step: number;
  /** The time of the step's first evaluation (after churn, for heun). */
  t: number;
  /** The state at t (for unipc, after its corrector has used this evaluation). */
  x: Float64Array;
  /** The denoiser's x0 prediction there. */
  denoised: Float64Array;
}

export type StepVerdict = void | boolean | 'stop';

/** Return false or 'stop' to end the run after this step's first evaluation. */
export type StepCallback = (info: StepInfo) => StepVerdict | Promise<StepVerdict>;

export interface SamplerOptions {
  /** Called once per step, after its first evaluation. */
  onStep?: StepCallback;
  /**
   * Fills its argument (n·dim values, the layout of x) with fresh standard normals for `step`. Only
   * the stochastic settings (ddim eta > 0, heun churn > 0) draw from it; freshNoiseFrom gives draws
   * that depend only on (stream, sample, step), whatever the batch split.
   */
  freshNoise?: (out: Float64Array, step: number) => void;
  /**
   * Called at the start of every step, before its first evaluation; it may change x in place
   * (Faster Diffusion's prior noise injection adds a little of the initial noise to late states).
   */
  beforeStep?: (step: number, t: number, x: Float64Array) => void;
  /** Samples in the batch (noise holds samples·dim values): lets a non-finite value be named by its sample. */
  samples?: number;
}

export interface SampleResult {
  /** Samples at the grid's last time (the data end), or at the step where onStep stopped the run. */
  x: Float64Array;
  /** Denoiser calls made: one per call, whatever the batch size. */
  nfe: number;
  /** Set when onStep stopped the run: the step whose start state x is. */
  stoppedAtStep?: number;
}

/**
 * A sampler: `noise` is standard normal (n·dim, flat); it starts from
 * x = alpha(grid[0])·0 + sigma(grid[0])·noise and follows `grid` (decreasing, ending at 0).
 */
export type Sampler<Settings extends object = object> = (
  denoiser: Denoiser,
  process: Process,
  noise: Float64Array,
  grid: Float64Array,
  options?: SamplerOptions & Settings,
) => Promise<SampleResult>;

/** A sampler's state or x0 prediction went NaN or infinite: sampling stops at the step where it first did. */
export class NonFiniteSample extends Error {
  override name = 'NonFiniteSample';
  constructor(message: string, readonly step: number) {
    super(message);
  }
}

/** The first non-finite value of a batch, as "NaN in sample i of the batch of n" (1-based) when the batch size is known, or undefined. */
function firstNonFinite(values: Float64Array, samples: number | undefined): string | undefined {
  if (allFinite(values)) return undefined;
  const at = values.findIndex((v) => !Number.isFinite(v));
  if (samples === undefined) return `${values[at]} at value ${at}`;
  return `${values[at]} in sample ${Math.floor(at / (values.length / samples)) + 1} of the batch of ${samples}`;
}

/**
 * Whether every value is finite, in one pass without a callback: v·0 is 0 for a finite v and NaN
 * for NaN or ±Infinity, so the sum is NaN exactly when some value is not finite. Every sampler step
 * checks its state and x0 prediction, so this runs twice per network evaluation.
 */
export function allFinite(values: Float64Array): boolean {
  let probe = 0;
  for (let i = 0; i < values.length; i++) probe += values[i]! * 0;
  return probe === 0;
}

/** One run of a sampler: checks the inputs, counts evaluations, stops on a non-finite value and relays the callback. */
export class SamplerRun {
  nfe = 0;
  readonly steps: number;
  readonly start: Float64Array;
  private readonly samples: number | undefined;

  constructor(
    private readonly denoiser: Denoiser,
    readonly process: Process,
    noise: Float64Array,
    readonly grid: Float64Array,
    private readonly options: SamplerOptions,
  ) {
    validateGrid(grid);
    if (noise.length === 0) throw new Error('sampler: noise is empty');
    if (!allFinite(noise)) throw new Error('sampler: noise has non-finite values');
    this.steps = grid.length - 1;
    this.start = initialState(process, grid[0]!, noise);
    this.samples = options.samples;
  }

  private checkFinite(values: Float64Array, what: string, step: number, t: number): void {
    const found = firstNonFinite(values, this.samples);
    if (found) throw new NonFiniteSample(`sampling went non-finite at step ${step + 1} of ${this.steps} (t = ${t.toPrecision(4)}): ${what} holds ${found}`, step);
  }

  async denoise(x: Float64Array, t: number, step: number, stage: number): Promise<Float64Array> {
    this.checkFinite(x, 'the state', step, t);
    this.nfe++;
    const denoised = await this.denoiser.denoise(x, t, { step, stage });
    if (denoised.length !== x.length) throw new Error(`denoiser returned ${denoised.length} values for an input of ${x.length}`);
    this.checkFinite(denoised, "the denoiser's x0 prediction", step, t);
    return denoised;
  }

  /** Relays a step to onStep; true when the callback asked to stop. */
  async report(step: number, t: number, x: Float64Array, denoised: Float64Array): Promise<boolean> {
    if (!this.options.onStep) return false;
    const verdict = await this.options.onStep({ step, t, x, denoised });
    return verdict === false || verdict === 'stop';
  }

  /** A step's first evaluation plus the callback: the x0 prediction, or undefined when the run must stop. */
  /** Runs the beforeStep hook; samplers that do not use beginStep call it at the start of each step. */
  enterStep(step: number, t: number, x: Float64Array): void {
    this.options.beforeStep?.(step, t, x);
  }

  async beginStep(step: number, t: number, x: Float64Array): Promise<Float64Array | undefined> {
    this.enterStep(step, t, x);
    const denoised = await this.denoise(x, t, step, 0);
    return (await this.report(step, t, x, denoised)) ? undefined : denoised;
  }

  freshNoise(length: number, step: number, setting: string): Float64Array {
    if (!this.options.freshNoise) throw new Error(`sampler: ${setting} makes the sampler stochastic, so options.freshNoise is required`);
    const out = new Float64Array(length);
    this.options.freshNoise(out, step);
    return out;
  }

  finish(x: Float64Array): SampleResult {
    this.checkFinite(x, 'the final sample', this.steps - 1, this.grid[this.steps]!);
    return { x, nfe: this.nfe };
  }

  stopped(x: Float64Array, step: number): SampleResult {
    return { x, nfe: this.nfe, stoppedAtStep: step };
  }
}

/**
 * Fresh noise for stochastic samplers whose draws depend only on (stream, sample, step): sample
 * `firstSample + k` of a batch gets the same noise at a step whatever the batch it runs in.
 */
export function freshNoiseFrom(stream: RngStream, firstSample: number, perSample: number | readonly number[]): (out: Float64Array, step: number) => void {
  const size = typeof perSample === 'number' ? perSample : perSample.reduce((a, b) => a * b, 1);
  return (out, step) => {
    if (out.length % size !== 0) throw new Error(`freshNoise: buffer of ${out.length} values is not a whole number of ${size}-value samples`);
    stream.derive('step', step).normal({ start: firstSample, count: out.length / size }, perSample, out);
  };
}

/** Σ coefficient·vector, as a new array (terms with a zero coefficient are skipped). */
export function combine(...terms: Array<readonly [number, Float64Array]>): Float64Array {
  const out = new Float64Array(terms[0]![1].length);
  for (const [coefficient, vector] of terms) {
    if (coefficient === 0) continue;
    for (let i = 0; i < out.length; i++) out[i] += coefficient * vector[i]!;
  }
  return out;
}

/** The noise in x implied by an x0 prediction: eps = (x − alpha·x0)/sigma (sigma > 0). */
export function impliedNoise(process: Process, t: number, x: Float64Array, denoised: Float64Array): Float64Array {
  const alpha = process.alpha(t);
  const sigma = process.sigma(t);
  const eps = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) eps[i] = (x[i]! - alpha * denoised[i]!) / sigma;
  return eps;
}

/**
 * The exponential-integrator functions phi_k(z) = Σ_m z^m/(m + k)!, i.e. phi_0 = e^z and
 * phi_{k+1}(z) = (phi_k(z) − 1/k!)/z. The series is used for small |z|, where the recurrence
 * cancels; phi_k(−∞) = 0 for k >= 1.
 */
export function phi(k: number, z: number): number {
  if (Math.abs(z) < 0.5) {
    let term = 1;
    for (let j = 1; j <= k; j++) term /= j;
    let sum = 0;
    for (let m = 0; m < 30 && Math.abs(term) > 1e-18 * Math.abs(sum); m++) {
      sum += term;
      term *= z / (m + k + 1);
    }
    return sum;
  }
  let value = Math.exp(z);
  let factorial = 1;
  for (let j = 0; j < k; j++) {
    value = (value - 1 / factorial) / z;
    factorial *= j + 1;
  }
  return value;
}

/** Solves the small dense system M·a = b by Gaussian elimination with partial pivoting. */
export function solveLinear(matrix: number[][], rhs: number[]): number[] {
  const n = rhs.length;
  const m = matrix.map((row, i) => [...row, rhs[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (m[pivot]![col] === 0) throw new Error('solveLinear: singular system');
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let r = col + 1; r < n; r++) {
      const factor = m[r]![col]! / m[col]![col]!;
      for (let c = col; c <= n; c++) m[r]![c] = m[r]![c]! - factor * m[col]![c]!;
    }
  }
  const solution = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let value = m[r]![n]!;
    for (let c = r + 1; c < n; c++) value -= m[r]![c]! * solution[c]!;
    solution[r] = value / m[r]![r]!;
  }
  return solution;
}
