// Generating samples from a trained model with any sampler and its settings: per-sample seeded noise
// (sample k is the same whatever the batch size, for stochastic samplers at every step too), optional class labels and classifier-free guidance, training-free
// accelerations (src/accel), honest NFE and FLOPs.

import type { HostTensor } from '../engine/host-tensor.js';
import type { Denoiser } from '../diffusion/denoiser.js';
import type { Process } from '../diffusion/process.js';
import type { SamplerOptions } from '../diffusion/samplers/index.js';
import { RngStream } from '../engine/rng.js';
import { makeGrid, parseGridSpec } from '../diffusion/grids.js';
import { type SamplerSettings, checkSamplerSettings, getSampler } from '../diffusion/samplers/index.js';
import { type StepCallback, freshNoiseFrom } from '../diffusion/samplers/common.js';
import type { DenoiseCall } from '../diffusion/denoiser.js';
import { type NetworkRunner, type ObjectiveName, networkDenoiser, noiseLevel, objectiveProcess } from '../train/objectives.js';
import type { AccelConfig } from '../accel/config.js';
import { CompiledNetwork, type RunPlan, tileRows } from './sampling-network.js';
import type { Caching } from '../accel/caching.js';
import type { SkipTuning } from '../accel/skip-tuning.js';
import { AccelSettingError } from '../accel/errors.js';
import type { TrainedModel } from './model-store.js';
import { InputError } from '../engine/input-error.js';
import { checkMemory } from '../engine/memory-budget.js';
import { activationBytesPerSample } from '../models/activation-bytes.js';
import { type Switch, checkSwitchable, switchingForward } from './switching.js';

export interface GenerateOptions {
  sampler: string; // a sampler name of src/diffusion/samplers
  samplerSettings?: SamplerSettings; // its numeric settings, e.g. { churn: 40 } for heun, { eta: 1 } for ddim
  steps: number; // sampler steps (NFE depends on the sampler)
  grid?: string; // time grid spec; default: the objective's usual grid
  n: number; // samples to draw
  first?: number; // index of the first sample drawn (a shard of a larger run): samples first .. first + n - 1
  seed: number; // noise seed: sample k depends only on (seed, k)
  noise?: Float64Array; // the n samples' standard-normal initial noise, flat; default: drawn from the seed
  batch?: number; // samples per network call
  guidance?: number; // classifier-free guidance weight; 1 is the plain conditional model
  guidanceInterval?: GuidanceInterval; // noise levels where guidance applies; default: all of them
  classes?: number[]; // class of each sample (cycled); default: sample k gets class k mod numClasses
  memory?: MemoryConditions; // memory-conditioned models (GMem): the snippet of each sample
  onStep?: StepCallback;
  onBatch?: (done: number, total: number) => void;
  onSamples?: (start: number, images: HostTensor<'float32'>) => void; // each batch's samples, first at index start, as soon as they are drawn
  keep?: boolean; // false: samples go to onSamples only and `images` is empty, for runs too large to hold (default true)
  accel?: AccelConfig; // training-free accelerations (Skip-Tuning, a caching method); none: the plain model
  network?: SamplingNetwork; // an already compiled network of this model to run instead (overrides accel)
  switches?: Switch[]; // other models for ranges of noise levels (multi-U-Net switching); they run plain, the main model elsewhere
}

/** What a memory-conditioned model is given per sample (see src/pipeline/memory-conditions.ts). */
export interface MemoryConditions {
  snippets: Float32Array; // [n, condVectorDim]: each sample's L2-normalised snippet
  labels?: number[]; // the class of each snippet's source image, where the bank knows it: what accuracy is measured against
}

/** The standard-normal initial noise of samples [start, start + count) of a seed: what generate() starts from. */
export function initialNoise(seed: number, start: number, count: number, dataShape: readonly number[]): Float64Array {
  const perSample = dataShape.reduce((a, b) => a * b, 1);
  return RngStream.fromSeed(seed, 'sample-noise').normal({ start, count }, dataShape, new Float64Array(count * perSample));
}

/** A network with its accelerations, as generate runs it: one SamplingRun-like run per batch. */
export interface SamplingNetwork {
  flops: number; // FLOPs of every call so far
  readonly caching?: Caching;
  skipTuning?: SkipTuning; // Skip-Tuning's schedule: a graph input, so it may change between runs
  run(plan: RunPlan): { forward: NetForward; samplerOptions: Pick<SamplerOptions, 'beforeStep'> };
  dispose(): Promise<void>;
}

/** Conditioning feeds of a batch (by feed name, one row per sample) and, for guidance, the unconditional ones. */
export interface ConditioningFeeds {
  cond: Record<string, HostTensor>;
  uncond?: Record<string, HostTensor>;
}

/**
 * What generate() samples. hasten's own trained models are one kind (trainedTarget); models imported
 * from other tools (src/import) are another: each brings its process, parameterisation and conditioning.
 */
export interface SamplingTarget {
  name: string;
  dataShape: number[];
  process: Process;
  defaultGrid: string;
  network(accel: AccelConfig | undefined): SamplingNetwork;
  /** The x0 denoiser over a runner's raw network outputs, for batches of `batch` samples. */
  denoiser(runner: NetworkRunner, batch: number): Denoiser;
  /** Conditioning of samples start..start+count-1, or undefined for an unconditional model. */
  conditioning(start: number, count: number): ConditioningFeeds | undefined;
  /** Class labels of the n samples, where the model has classes. */
  labels?: number[];
  /** Why a conditional target cannot be guided (it lacks the unconditional inputs) and what to do, where it cannot. */
  unguidable?: string;
}

export interface GenerateResult {
  images: HostTensor<'float32'>; // [n, ...dataShape], in the data's range
  labels?: number[];
  nfe: number; // network evaluations per sample; a guided call counts its conditional and unconditional halves
  wallS: number;
  flops: number; // FLOPs of all network calls, counted on the graphs that ran
}

const DEFAULT_BATCH = 64;

export const DEFAULT_GRIDS: Record<ObjectiveName, string> = { edm: 'karras', vp: 'logsnr', rf: 'rf' };

/** One network call on the feeds of netTraceFn (x, noise, label): the plain compiled forward or an accelerated one. */
export type NetForward = (feeds: Record<string, HostTensor>, call: DenoiseCall) => Promise<Float32Array>;

/** Noise levels sigma/alpha (EDM's sigma) from `low` to `high`, both included. */
export interface GuidanceInterval {
  low: number;
  high: number;
}

export interface GuidedRunnerOptions {
  interval?: GuidanceInterval; // guidance only at these noise levels, the plain conditional model elsewhere
  onEvaluations?: (perSample: 1 | 2) => void; // told of each call's network evaluations per sample
}

/**
 * A network runner with classifier-free guidance when asked. With guidance the conditional and
 * unconditional halves go through `forward` as one batch [cond; uncond], so anything a forward
 * caches per row keeps the two halves apart. Outside the guidance interval only the conditional
 * half runs, which is where an interval saves evaluations (Kynkäänniemi et al., 2024, find guidance
 * most useful at middle noise levels).
 */
export function guidedRunner(trained: TrainedModel, forward: NetForward, labels: bigint[] | undefined, guidance: number, options: GuidedRunnerOptions = {}): NetworkRunner {
  return conditionedRunner(trained.config.dataShape, forward, labels && classConditioning(labels, trained.model.config.numClasses), guidance, options);
}

/** Class labels as conditioning feeds: the unconditional label is the null class numClasses. */
export function classConditioning(labels: bigint[], numClasses: number): ConditioningFeeds {
  const tensor = (values: bigint[]): HostTensor => ({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values) });
  return { cond: { label: tensor(labels) }, uncond: { label: tensor(labels.map(() => BigInt(numClasses))) } };
}

/** guidedRunner over any conditioning feeds: guided calls run the rows [cond; uncond] as one batch. */
export function conditionedRunner(dataShape: number[], forward: NetForward, conditioning: ConditioningFeeds | undefined, guidance: number, options: GuidedRunnerOptions = {}): NetworkRunner {
  const { interval, onEvaluations } = options;
  if (conditioning && guidance !== 1 && !conditioning.uncond) throw new Error('guidance needs unconditional inputs beside the conditional ones');
  return async (input, noiseLabels, batch, call) => {
    const x = (rows: number, data: Float32Array): HostTensor => ({ dtype: 'float32', shape: [rows, ...dataShape], data });
    const level = noiseLevel(noiseLabels[0]!);
    const guided = conditioning !== undefined && guidance !== 1 && (!interval || (level >= interval.low && level <= interval.high));
    onEvaluations?.(guided ? 2 : 1);
    if (!guided) return forward({ x: x(batch, input), noise: { dtype: 'float32', shape: [batch], data: noiseLabels }, ...conditioning?.cond }, call);
    // Conditional and unconditional halves in one call: [x; x] with [cond; uncond].
    const noise = new Float32Array(2 * batch);
    noise.set(noiseLabels);
    noise.set(noiseLabels, batch);
    const feeds: Record<string, HostTensor> = { x: tileRows(x(batch, input), 2), noise: { dtype: 'float32', shape: [2 * batch], data: noise } };
    for (const [name, cond] of Object.entries(conditioning.cond)) feeds[name] = stackRows(cond, conditioning.uncond![name]!);
    const out = await forward(feeds, call);
    const result = new Float32Array(input.length);
    for (let i = 0; i < result.length; i++) result[i] = out[input.length + i]! + guidance * (out[i]! - out[input.length + i]!);
    return result;
  };
}

/** Two tensors of equal rows stacked along the batch axis. */
function stackRows(a: HostTensor, b: HostTensor): HostTensor {
  const data = new (a.data.constructor as new (n: number) => HostTensor['data'])(a.data.length + b.data.length);
  (data as Float32Array).set(a.data as Float32Array);
  (data as Float32Array).set(b.data as Float32Array, a.data.length);
  return { ...a, shape: [a.shape[0]! + b.shape[0]!, ...a.shape.slice(1)], data } as HostTensor;
}

/** Snippets [count, dim] as conditioning feeds: the unconditional snippet is zero. */
export function memoryConditioning(snippets: Float32Array, dim: number): ConditioningFeeds {
  const rows = snippets.length / dim;
  return { cond: { condVector: { dtype: 'float32', shape: [rows, dim], data: snippets } }, uncond: { condVector: { dtype: 'float32', shape: [rows, dim], data: new Float32Array(snippets.length) } } };
}

/**
 * A trained hasten model as a sampling target for samples first .. first + n - 1; `classes` as
 * sampleClasses takes them, `memory` the snippets of a memory-conditioned model.
 */
export function trainedTarget(trained: TrainedModel, n: number, classes?: number[], first = 0, memory?: MemoryConditions): SamplingTarget {
  const labels = sampleClasses(trained, n, classes, first);
  const dim = trained.model.config.condVectorDim;
  if (dim > 0 && !memory) throw new InputError(`model '${trained.name}' is conditioned on memory snippets: pass a bank (--bank DIR)`);
  if (dim === 0 && memory) throw new InputError(`model '${trained.name}' is not memory-conditioned: drop --bank`);
  if (memory && memory.snippets.length !== n * dim) throw new Error(`generate: ${memory.snippets.length / dim} snippets of ${dim} for ${n} samples`);
  return {
    name: trained.name,
    dataShape: trained.config.dataShape,
    process: objectiveProcess(trained.config.objective),
    defaultGrid: DEFAULT_GRIDS[trained.config.objective.name],
    network: (accel) => new CompiledNetwork(trained.model, trained.params, accel, trained.name),
    denoiser: (runner, batch) => networkDenoiser(trained.config.objective, runner, batch).denoiser,
    conditioning: (start, count) => (memory
      ? memoryConditioning(memory.snippets.slice(start * dim, (start + count) * dim), dim)
      : labels && classConditioning(labels.slice(start, start + count).map((c) => BigInt(c)), trained.model.config.numClasses)),
    labels: labels ?? memory?.labels,
  };
}

/** Whether generate() was given one of hasten's trained models rather than another sampling target. */
export const isTrainedModel = (model: TrainedModel | SamplingTarget): model is TrainedModel => 'params' in model;

/** The classes of samples first .. first + n - 1. */
export function sampleClasses(trained: TrainedModel, n: number, classes?: number[], first = 0): number[] | undefined {
  const numClasses = trained.model.config.numClasses;
  if (numClasses === 0) {
    if (classes && classes.length > 0) throw new InputError(`model '${trained.name}' is not class-conditional; drop --class`);
    return undefined;
  }
  return cycledClasses(n, numClasses, classes, { first });
}

/**
 * The class labels of samples first .. first + n - 1 of a model with `count` labels: `classes`
 * cycled (each checked to be one of the labels and not the null class), else every label but the
 * null class in turn, so that sample k has the same class whatever the batch it is drawn in.
 */
export function cycledClasses(n: number, count: number, classes?: number[], { nullClass, first = 0 }: { nullClass?: number; first?: number } = {}): number[] {
  const labels = `the model's labels are 0..${count - 1}${nullClass === undefined ? '' : `, ${nullClass} being its null class`}`;
  for (const c of classes ?? []) {
    if (!Number.isInteger(c) || c < 0 || c >= count) throw new InputError(`class ${c} is out of range: ${labels}`);
    if (c === nullClass) throw new InputError(`class ${c} is the null class (no class); pick a class: ${labels}`);
  }
  const drawn = nullClass === undefined ? count : count - 1;
  return Array.from({ length: n }, (_, i) => {
    const k = first + i;
    if (classes && classes.length > 0) return classes[k % classes.length]!;
    const j = k % drawn;
    return nullClass !== undefined && j >= nullClass ? j + 1 : j;
  });
}

/**
 * Throws, naming the setting, unless the counts are positive integers, the guidance weight a finite
 * number, and the samples kept plus one batch's network activations fit in memory: all before any
 * allocation of their size.
 */
function checkRequest(model: TrainedModel | SamplingTarget, { n, steps, batch, guidance = 1, keep = true }: GenerateOptions): void {
  for (const [name, value] of [['n', n], ['steps', steps], ['batch', batch ?? 1]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new InputError(`generate: ${name} must be a positive integer, got ${value}`);
  }
  if (!Number.isFinite(guidance)) throw new InputError(`generate: guidance must be a finite number, got ${guidance}`);
  const dataShape = isTrainedModel(model) ? model.config.dataShape : model.dataShape;
  const perSample = dataShape.reduce((a, b) => a * b, 1);
  const rows = Math.min(batch ?? DEFAULT_BATCH, n) * (guidance === 1 ? 1 : 2);
  const activations = isTrainedModel(model) ? activationBytesPerSample(model.model) : 0;
  // Kept samples: float32 values and a class label each; a batch: its activations and float64 states.
  const bytes = (keep ? n * (4 * perSample + 16) : 0) + rows * (activations + 4 * 8 * perSample);
  checkMemory(`generating ${n} samples of ${dataShape.join('x')} in batches of ${Math.min(batch ?? DEFAULT_BATCH, n)}${keep ? '' : ' (streamed)'}`, bytes);
}

function checkGuidance(target: SamplingTarget, guidance: number): void {
  if (guidance !== 1 && !target.conditioning(0, 1)) {
    throw new InputError(`generate: guidance ${guidance} needs a class-conditional model: '${target.name}' is unconditional`);
  }
  if (guidance !== 1 && target.unguidable) throw new InputError(`generate: guidance ${guidance} needs unconditional inputs: ${target.unguidable}`);
}

export async function generate(model: TrainedModel | SamplingTarget, options: GenerateOptions): Promise<GenerateResult> {
  const sampler = getSampler(options.sampler);
  const samplerSettings = options.samplerSettings ?? {};
  checkSamplerSettings(sampler, samplerSettings);
  const { n, seed, steps, guidance = 1, first = 0 } = options;
  if (!Number.isSafeInteger(first) || first < 0) throw new RangeError(`generate: first must be a non-negative integer, got ${first}`);
  checkRequest(model, options);
  const target = isTrainedModel(model) ? trainedTarget(model, n, options.classes, first, options.memory) : model;
  checkGuidance(target, guidance);
  const keep = options.keep ?? true;
  const batchSize = Math.min(options.batch ?? DEFAULT_BATCH, n);
  const dataShape = target.dataShape;
  const perSample = dataShape.reduce((a, b) => a * b, 1);
  const caching = options.network ? options.network.caching : options.accel?.caching;
  if (options.guidanceInterval && caching) {
    // A cache filled at an unguided step holds one row per sample, a guided step needs two.
    throw new AccelSettingError(`a guidance interval does not combine with ${caching.method}: cached features would change batch size between guided and unguided steps`);
  }
  if (options.noise && options.noise.length !== n * perSample) throw new Error(`generate: noise holds ${options.noise.length} values, ${n} samples of ${dataShape.join('x')} need ${n * perSample}`);
  const switches = options.switches ?? [];
  if (switches.length > 0 && !isTrainedModel(model)) throw new Error(`multi-U-Net switching takes hasten models; '${target.name}' is not one`);
  for (const s of switches) checkSwitchable(model as TrainedModel, s.model);
  const network = options.network ?? target.network(options.accel);
  const switched = switches.map((s) => ({ ...s, owned: !s.network, network: s.network ?? new CompiledNetwork(s.model.model, s.model.params, {}, s.model.name) }));
  const flopsOf = (): number => switched.reduce((sum, s) => sum + s.network.flops, network.flops);
  const flopsBefore = flopsOf();
  const process = target.process;
  const grid = makeGrid(process, parseGridSpec(options.grid ?? target.defaultGrid), steps);
  // Stochastic samplers' fresh noise: a function of (seed, sample, step), so it does not depend on the batch split.
  const freshStream = RngStream.fromSeed(seed, 'sampler-noise');
  const images = new Float32Array(keep ? n * perSample : 0);
  const started = performance.now();
  let nfe = 0;
  try {
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const noise = options.noise ? options.noise.slice(start * perSample, (start + count) * perSample) : initialNoise(seed, first + start, count, dataShape);
      const plan = { sampler, process, grid, noise };
      const run = network.run(plan);
      const forward = switched.length === 0 ? run.forward : switchingForward(run.forward, switched.map((s) => ({ ...s, forward: s.network.run(plan).forward })));
      let evaluations = 0;
      const runner = conditionedRunner(dataShape, forward, target.conditioning(start, count), guidance, { interval: options.guidanceInterval, onEvaluations: (perSample) => { evaluations += perSample; } });
      const denoiser = target.denoiser(runner, count);
      const samplerOptions = { onStep: options.onStep, samples: count, freshNoise: freshNoiseFrom(freshStream, first + start, dataShape), ...run.samplerOptions };
      const result = await sampler.sample(denoiser, process, noise, grid, samplerOptions, samplerSettings);
      const samples = new Float32Array(result.x);
      if (keep) images.set(samples, start * perSample);
      options.onSamples?.(start, { dtype: 'float32', shape: [count, ...dataShape], data: samples });
      nfe = evaluations;
      options.onBatch?.(start + count, n);
    }
  } finally {
    if (!options.network) await network.dispose();
    for (const s of switched) if (s.owned) await s.network.dispose();
  }
  return { images: { dtype: 'float32', shape: [keep ? n : 0, ...dataShape], data: images }, labels: target.labels, nfe, wallS: (performance.now() - started) / 1000, flops: flopsOf() - flopsBefore };
}
