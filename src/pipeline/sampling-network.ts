// A trained network as the forward pass the samplers' denoiser calls: the plain compiled network, or
// one with training-free accelerations (src/accel) plugged in. Policies act through the model's own hooks (Skip-Tuning's skipScale input, the
// ModuleContext capture/reuse plan), so the model code is never forked, and an empty config traces
// exactly the plain graph. Every call is charged the FLOPs of the graph it ran.
//
// Caches are per sampler run (SamplingRun) and keyed by the sampler's step index. Rows are never
// mixed: with classifier-free guidance the conditional and unconditional halves are rows of one
// batch, so each keeps its own cached features.

import { AccelSettingError } from '../accel/errors.js';
import type { DenoiseCall } from '../diffusion/denoiser.js';
import type { Process } from '../diffusion/process.js';
import type { SamplerDefinition, SamplerOptions } from '../diffusion/samplers/index.js';
import type { HostTensor, ParamTree } from '../engine/host-tensor.js';
import { type CompileOptions, type CompiledFunction, type InputSpec, type TraceFn, compile, traceFunction } from '../engine/runtime.js';
import { flopsByScope } from '../models/flops.js';
import { type DiffusionNet, type ForwardOptions, netTraceFn } from '../models/network.js';
import { type ModulePlan, cacheName } from '../models/module-context.js';
import { hasLongSkips } from '../models/capabilities.js';
import { noiseLabel, noiseLevel } from '../diffusion/noise-label.js';
import { type Caching, cachingKeys, moduleOutputShapes, resolveCaching } from '../accel/caching.js';
import type { AccelConfig } from '../accel/config.js';
import { type SkipTuning, skipFactors } from '../accel/skip-tuning.js';
import { keySteps } from '../accel/step-pattern.js';

/** What a run needs to know in advance: the sampler, its grid, and the run's standard-normal initial noise. */
export interface RunPlan {
  sampler: SamplerDefinition;
  process: Process;
  grid: Float64Array;
  noise: Float64Array;
}

interface CachingSetup {
  caching: Caching;
  modules: string[];
  /** Output shape of each cached module at batch 1. */
  shapes: Map<string, number[]>;
}

/**
 * What a sampler run needs of a network to apply the accelerations: its calls and what they cache.
 * hasten's traced models (CompiledNetwork) and imported ONNX graphs (src/import) both provide it.
 */
export interface CachingNetwork {
  /** Skip-Tuning's schedule, if the calls take its factors (the skipScale feed, [rows, numSkips]). */
  skipTuning?: SkipTuning;
  /** Long skips, outermost first. */
  readonly numSkips: number;
  /**
   * One network call: feeds x, noise (the noise label), any conditioning, skipScale; with `cacheRows`, the
   * cached features (of that many rows) replace what they were computed from. Returns 'out' and, on a
   * full call of a caching method, every cached feature by name.
   */
  call(feeds: Record<string, HostTensor>, cacheRows?: number): Promise<Record<string, HostTensor>>;
}

/** A caching method and the names of the features its full calls return and its reusing calls take. */
export interface CacheSpec {
  caching: Caching;
  names: readonly string[];
}

const rowsOf = (t: HostTensor): number => t.shape[0]!;

function withRows(shape: readonly number[], rows: number): number[] {
  return [rows, ...shape.slice(1)];
}

/** `copies` copies of a tensor stacked along the batch axis, copy-major (the layout matchBatch tiles to). */
export function tileRows<T extends HostTensor>(t: T, copies: number): T {
  const data = new (t.data.constructor as new (n: number) => T['data'])(t.data.length * copies);
  for (let c = 0; c < copies; c++) (data as Float32Array).set(t.data as Float32Array, c * t.data.length);
  return { ...t, shape: withRows(t.shape, rowsOf(t) * copies), data } as T;
}

export class CompiledNetwork implements CachingNetwork {
  /** FLOPs of every network call made so far (all runs). */
  flops = 0;
  /** Skip-Tuning's schedule; the factors are graph inputs, so changing it between runs never recompiles. */
  skipTuning?: SkipTuning;
  private readonly forwardOptions: ForwardOptions;
  private readonly setup?: CachingSetup;
  private readonly full: CompiledFunction;
  private readonly reuseByRows = new Map<number, CompiledFunction>();
  private readonly flopsBySignature = new Map<string, number>();

  constructor(readonly model: DiffusionNet, private readonly params: ParamTree, config: AccelConfig = {}, private readonly name = 'model') {
    if (config.skipTuning && !hasLongSkips(model)) throw new AccelSettingError(`--skip-tuning needs a U-Net (a network with long skips: it scales them), not a ${model.config.arch}`);
    this.skipTuning = config.skipTuning;
    if (config.caching) {
      const { modules, forwardOptions } = resolveCaching(config.caching, model);
      this.forwardOptions = forwardOptions;
      this.setup = { caching: config.caching, modules, shapes: moduleOutputShapes(model, modules, forwardOptions) };
    } else {
      this.forwardOptions = {};
    }
    this.full = compile(this.traceFn(), this.sessionOptions());
  }

  /** The caching method this network runs, if any. */
  get caching(): Caching | undefined {
    return this.setup?.caching;
  }

  get numSkips(): number {
    return hasLongSkips(this.model) ? this.model.numSkips : 0;
  }

  /**
   * Every ONNX Runtime session has its own thread pool. A caching method alternates between two
   * sessions, and threads of the idle one that spin after its run take the cores from the other
   * (measured: the reuse steps ran at about half the plain model's GFLOP/s), so they do not spin.
   */
  private sessionOptions(): CompileOptions {
    return { params: this.params, name: this.name, ...(this.setup ? { spin: false } : {}) };
  }

  /** Graphs compiled so far (one per plan and input shapes): a Skip-Tuning sweep must not add any. */
  get compiledGraphs(): number {
    return this.full.compiledSignatures + [...this.reuseByRows.values()].reduce((n, fn) => n + fn.compiledSignatures, 0);
  }

  /** A fresh run: its own caches, for one sampler run over one batch. */
  run(plan: RunPlan): SamplingRun {
    return new SamplingRun(this, plan, this.setup && { caching: this.setup.caching, names: this.setup.modules.map(cacheName) });
  }

  /** The full forward (capturing the cached modules) or, with `cacheRows`, the one reusing caches of that many rows. */
  private traceFn(cacheRows?: number): TraceFn {
    const plan: ModulePlan = cacheRows === undefined
      ? (this.setup ? { capture: new Set(this.setup.modules) } : {})
      : { reuse: new Map([...this.setup!.shapes].map(([path, shape]) => [path, withRows(shape, cacheRows)])) };
    return netTraceFn(this.model, plan, this.forwardOptions);
  }

  /** The graph that reuses the cached modules, for caches of `rows` rows. */
  private reuseGraph(rows: number): CompiledFunction {
    let fn = this.reuseByRows.get(rows);
    if (!fn) {
      fn = compile(this.traceFn(rows), this.sessionOptions());
      this.reuseByRows.set(rows, fn);
    }
    return fn;
  }

  /** Creates the full graph's session for `feeds` without running it (a page compiles before its first, slow call). */
  prepare(feeds: Record<string, HostTensor>): Promise<void> {
    return this.full.prepare(feeds);
  }

  /** Runs the full graph (capturing the cached modules) or, with `cacheRows`, the reuse graph; charges its FLOPs. */
  async call(feeds: Record<string, HostTensor>, cacheRows?: number): Promise<Record<string, HostTensor>> {
    const fn = cacheRows === undefined ? this.full : this.reuseGraph(cacheRows);
    this.flops += this.flopsOf(cacheRows, feeds);
    return fn.run(feeds);
  }

  private flopsOf(cacheRows: number | undefined, feeds: Record<string, HostTensor>): number {
    const signature = `${cacheRows ?? 'full'}|${Object.entries(feeds).map(([name, t]) => `${name}:${t.shape.join('x')}`).sort().join(';')}`;
    let flops = this.flopsBySignature.get(signature);
    if (flops === undefined) {
      const specs: Record<string, InputSpec> = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, { shape: [...t.shape], dtype: t.dtype }]));
      const { graph, outputs } = traceFunction(this.traceFn(cacheRows), specs);
      flops = flopsByScope(graph, Object.values(outputs)).total;
      this.flopsBySignature.set(signature, flops);
    }
    return flops;
  }

  async dispose(): Promise<void> {
    await this.full.dispose();
    for (const fn of this.reuseByRows.values()) await fn.dispose();
    this.reuseByRows.clear();
  }
}

/** One sampler run: the forward pass for its denoiser and the sampler options (prior noise injection). */
export class SamplingRun {
  private readonly steps: number;
  private readonly key?: boolean[];
  private cache?: { feeds: Record<string, HostTensor>; rows: number };
  /** Decoder outputs computed ahead, in one batched call, for the non-key steps after a key step. */
  private readonly ahead = new Map<number, { label: number; out: Float32Array }>();

  constructor(private readonly network: CachingNetwork, private readonly plan: RunPlan, private readonly setup: CacheSpec | undefined) {
    this.steps = plan.grid.length - 1;
    if (setup) this.key = keySteps(cachingKeys(setup.caching), this.steps);
  }

  /** Prior noise injection (encoder propagation): x <- x + alpha·s(t)·z at late steps, z the run's initial noise. */
  get samplerOptions(): Pick<SamplerOptions, 'beforeStep'> {
    const caching = this.setup?.caching;
    if (caching?.method !== 'encoder-propagation' || caching.noise === 0) return {};
    const { process, noise } = this.plan;
    const from = Math.ceil(caching.noiseFrom * this.steps);
    return {
      beforeStep: (step, t, x) => {
        if (step < from || step === 0) return;
        if (x.length !== noise.length) throw new Error(`prior noise injection: the state has ${x.length} values but the initial noise ${noise.length}`);
        // s(t) = |(alpha, sigma)| turns the variance-preserving amount of the paper into this process's scale.
        const amount = caching.noise * Math.hypot(process.alpha(t), process.sigma(t));
        for (let i = 0; i < x.length; i++) x[i] += amount * noise[i]!;
      },
    };
  }

  /** The forward pass for guidedRunner: feeds x, noise, label as netTraceFn names them. */
  readonly forward = async (feeds: Record<string, HostTensor>, call: DenoiseCall): Promise<Float32Array> => {
    if (!Number.isInteger(call.step) || call.step < 0 || call.step >= this.steps) throw new Error(`the sampler called step ${call.step}, outside 0..${this.steps - 1}`);
    const rows = rowsOf(feeds.x!);
    const label = feeds.noise!.data[0] as number;
    const withScale = this.withSkipScale(feeds, [call.step], rows);
    if (!this.setup) return (await this.network.call(withScale)).out!.data as Float32Array;

    const cached = this.cache;
    if (this.key![call.step] || !cached || cached.rows !== rows) {
      const outputs = await this.network.call(withScale);
      this.cache = { rows, feeds: Object.fromEntries(this.setup.names.map((name) => [name, outputs[name]!])) };
      this.ahead.clear();
      if (call.stage === 0 && this.decodesAhead) await this.decodeAhead(feeds, call.step, rows);
      return outputs.out!.data as Float32Array;
    }
    const precomputed = this.ahead.get(call.step);
    if (precomputed && call.stage === 0) {
      if (precomputed.label !== label) throw new Error(`parallel decoding: step ${call.step} was evaluated at noise label ${label}, not the grid's ${precomputed.label}; this sampler does not evaluate at grid points`);
      return precomputed.out;
    }
    return (await this.network.call({ ...withScale, ...cached.feeds }, cached.rows)).out!.data as Float32Array;
  };

  /** Whether the decoders of non-key steps run ahead in one batch: encoder propagation with a sampler that evaluates only at grid points. */
  private get decodesAhead(): boolean {
    const caching = this.setup?.caching;
    return caching?.method === 'encoder-propagation' && caching.parallel && this.plan.sampler.evaluatesAtGridPoints;
  }

  private async decodeAhead(feeds: Record<string, HostTensor>, keyStep: number, rows: number): Promise<void> {
    const group: number[] = [];
    for (let j = keyStep + 1; j < this.steps && !this.key![j]; j++) group.push(j);
    if (group.length === 0) return;
    const { process, grid } = this.plan;
    const labels = group.map((j) => Math.fround(noiseLabel(process.rho(grid[j]!))));
    const noise = new Float32Array(group.length * rows);
    labels.forEach((l, c) => noise.fill(l, c * rows, (c + 1) * rows));
    // The decoder does not read x: the tiled current x only gives the traced (and pruned) encoder consistent shapes.
    const batched: Record<string, HostTensor> = { noise: { dtype: 'float32', shape: [noise.length], data: noise } };
    for (const [name, t] of Object.entries(feeds)) if (name !== 'noise') batched[name] = tileRows(t, group.length);
    const out = (await this.network.call({ ...this.withSkipScale(batched, group, rows), ...this.cache!.feeds }, rows)).out!.data as Float32Array;
    const perCopy = out.length / group.length;
    group.forEach((j, c) => this.ahead.set(j, { label: labels[c]!, out: out.slice(c * perCopy, (c + 1) * perCopy) }));
  }

  /** Adds Skip-Tuning's [rows, numSkips] factors, one block of `rows` rows per step in `steps`. */
  private withSkipScale(feeds: Record<string, HostTensor>, steps: number[], rows: number): Record<string, HostTensor> {
    const tuning = this.network.skipTuning;
    if (!tuning) return feeds;
    const numSkips = this.network.numSkips;
    const labels = feeds.noise!.data as Float32Array;
    const data = new Float32Array(steps.length * rows * numSkips);
    steps.forEach((step, c) => {
      const factors = skipFactors(tuning, numSkips, step, this.steps, noiseLevel(labels[c * rows]!));
      for (let r = 0; r < rows; r++) data.set(factors, (c * rows + r) * numSkips);
    });
    return { ...feeds, skipScale: { dtype: 'float32', shape: [steps.length * rows, numSkips], data } };
  }
}
