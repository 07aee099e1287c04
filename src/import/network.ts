// An imported U-Net as the network the samplers' accelerations run: the ONNX graph, edited for
// Skip-Tuning (a skip_scale input) and for a caching method (the full graph also returns the cached
// features; a cut graph reuses them), called with hasten's feeds (x, noise label, conditioning, class labels).
// The noise label becomes the graph's own timestep through the imported schedule. Graphs with a
// fixed batch run in chunks of that batch (the last one padded); a graph with one timestep per call
// runs each run of rows that share a timestep separately.

import { AccelSettingError } from '../accel/errors.js';
import type { AccelConfig } from '../accel/config.js';
import type { Caching } from '../accel/caching.js';
import { SamplingRun, type CachingNetwork, type RunPlan, tileRows } from '../pipeline/sampling-network.js';
import type { SkipTuning } from '../accel/skip-tuning.js';
import type { HostTensor } from '../engine/host-tensor.js';
import type { OnnxModel } from '../engine/onnx/codec.js';
import type { OnnxSession } from '../engine/runtime.js';
import { noiseLevel } from '../train/objectives.js';
import { cachedTensors } from './analysis.js';
import { GraphFiles } from './graph-files.js';
import type { ImportedModel } from './model-folder.js';
import { timestepTensor } from './probe.js';
import { timestepAt } from './schedule.js';
import { SKIP_SCALE_INPUT, addOutputs, addSkipScale, cutGraph } from './surgery.js';

/** The structure an acceleration needs, or one clear error saying why this import has none. */
function structureFor(imported: ImportedModel, what: string) {
  const analysis = imported.record.analysis;
  if (!analysis) throw new AccelSettingError(`${what} needs the U-Net's skip connections, which import did not find in ${imported.name}: ${imported.record.analysis_error}`);
  return analysis;
}

/** Rows [from, to) of a batch-major tensor (the tensor itself, uncopied, when that is all of it). */
function sliceRows(t: HostTensor, from: number, to: number): HostTensor {
  if (from === 0 && to === t.shape[0]) return t;
  const per = t.data.length / t.shape[0]!;
  return { ...t, shape: [to - from, ...t.shape.slice(1)], data: t.data.slice(from * per, to * per) } as HostTensor;
}

/** `rows` rows: the tensor's own, then its last row repeated (padding for a fixed-batch graph). */
function padRows(t: HostTensor, rows: number): HostTensor {
  const have = t.shape[0]!;
  if (have === rows) return t;
  const per = t.data.length / have;
  const data = new (t.data.constructor as new (n: number) => HostTensor['data'])(rows * per);
  (data as Float32Array).set(t.data as Float32Array);
  for (let r = have; r < rows; r++) (data as Float32Array).set((t.data as Float32Array).subarray((have - 1) * per, have * per), r * per);
  return { ...t, shape: [rows, ...t.shape.slice(1)], data } as HostTensor;
}

function concatRows(parts: HostTensor[]): HostTensor {
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((n, p) => n + p.data.length, 0);
  const data = new (parts[0]!.data.constructor as new (n: number) => HostTensor['data'])(total);
  let offset = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as Float32Array, offset);
    offset += p.data.length;
  }
  return { ...parts[0]!, shape: [parts.reduce((n, p) => n + p.shape[0]!, 0), ...parts[0]!.shape.slice(1)], data } as HostTensor;
}

class GraphRunner {
  private session?: Promise<OnnxSession>;

  constructor(readonly graph: OnnxModel, readonly flopsPerSample: number, private readonly spin: boolean | undefined, private readonly files: GraphFiles) {}

  open(): Promise<OnnxSession> {
    this.session ??= this.files.session(this.graph, this.spin === undefined ? {} : { spin: this.spin });
    return this.session;
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session) await (await session).dispose();
  }
}

export class ImportedNetwork implements CachingNetwork {
  flops = 0;
  skipTuning?: SkipTuning;
  readonly numSkips: number;
  readonly caching?: Caching;
  private readonly cacheNames: string[] = [];
  private readonly full: GraphRunner;
  private readonly reuse?: GraphRunner;
  /** Where the graphs go to ONNX Runtime from (with external data beyond protobuf's limit); shared by the full and the cut graph. */
  readonly files: GraphFiles;
  /** Told of every call as it ends: whether it reused cached features, its rows, its wall seconds and the process's CPU seconds during it (for benchmarks). */
  onCall?: (call: { reuse: boolean; rows: number; seconds: number; cpuSeconds: number }) => void;

  constructor(readonly imported: ImportedModel, config: AccelConfig = {}) {
    this.files = new GraphFiles(imported.inlineLimit);
    const { signature } = imported.record;
    const batch = signature.batch === 'dynamic' ? 'batch' : signature.batch;
    let graph = imported.onnx;
    const analysis = imported.record.analysis;
    this.numSkips = analysis?.structure.skips.length ?? 0;
    if (config.skipTuning) {
      graph = addSkipScale(graph, structureFor(imported, '--skip-tuning').structure, batch);
      this.skipTuning = config.skipTuning;
    }
    const fullFlops = analysis?.flops.total ?? 0;
    if (config.caching) {
      const { method } = config.caching;
      if (method === 'feature-inheritance') throw new AccelSettingError('--feature-inheritance reuses named hasten modules; on an imported graph use --deepcache or --encoder-propagation');
      const { structure, shapes, cut_flops: cutFlops } = structureFor(imported, `--${method}`);
      const branch = config.caching.method === 'deepcache' ? config.caching.branch : 0;
      if (config.caching.method === 'encoder-propagation' && config.caching.blocks !== undefined) throw new AccelSettingError('--encoder-propagation: blocks= applies to the DiT; an imported U-Net caches at its encoder/decoder boundary');
      this.cacheNames = cachedTensors(structure, method, branch);
      const withBatch = new Map(Object.entries(shapes).map(([name, s]) => [name, [1, ...s]]));
      const withOutputs = addOutputs(graph, this.cacheNames, withBatch, batch);
      this.caching = config.caching;
      this.reuse = new GraphRunner(cutGraph(graph, this.cacheNames, withBatch, batch), method === 'deepcache' ? cutFlops.deepcache[branch]! : cutFlops.encoder_propagation, false, this.files);
      this.full = new GraphRunner(withOutputs, fullFlops, false, this.files);
    } else {
      this.full = new GraphRunner(graph, fullFlops, undefined, this.files);
    }
  }

  run(plan: RunPlan): SamplingRun {
    return new SamplingRun(this, plan, this.caching && { caching: this.caching, names: this.cacheNames });
  }

  async call(feeds: Record<string, HostTensor>, cacheRows?: number): Promise<Record<string, HostTensor>> {
    const runner = cacheRows === undefined ? this.full : this.reuse!;
    const session = await runner.open();
    const started = performance.now();
    const cpuStarted = this.onCall && process.cpuUsage();
    const { signature, schedule } = this.imported.record;
    const x = feeds.x!;
    const rows = x.shape[0]!;
    const labels = feeds.noise!.data as Float32Array;
    const timesteps = Array.from(labels, (label) => timestepAt(schedule, this.imported.process.tFromRho(noiseLevel(label))));
    const byRow: Record<string, HostTensor> = { [signature.sample]: x };
    if (signature.conditioning) {
      const cond = feeds[signature.conditioning.name];
      if (!cond) throw new Error(`${this.imported.name} is conditioned on ${signature.conditioning.name} [batch, ${signature.conditioning.shape.join(', ')}]: pass it (--cond-file)`);
      byRow[signature.conditioning.name] = cond;
    }
    if (signature.classLabels) {
      const labels = feeds[signature.classLabels.name];
      if (!labels) throw new Error(`${this.imported.name} takes class labels (${signature.classLabels.name}): pass them`);
      byRow[signature.classLabels.name] = labels;
    }
    if (feeds.skipScale) byRow[SKIP_SCALE_INPUT] = feeds.skipScale;
    for (const name of this.cacheNames) {
      const cached = feeds[name];
      if (cacheRows !== undefined && cached) byRow[name] = cached.shape[0] === rows ? cached : tileRows(cached, rows / cached.shape[0]!);
    }
    const parts: Record<string, HostTensor>[] = [];
    for (const [from, to] of this.chunks(timesteps)) {
      const width = signature.batch === 'dynamic' ? to - from : signature.batch;
      const chunkTimesteps = timesteps.slice(from, to);
      while (chunkTimesteps.length < width) chunkTimesteps.push(chunkTimesteps.at(-1)!);
      const chunk: Record<string, HostTensor> = { [signature.timestep]: timestepTensor(signature, chunkTimesteps) };
      for (const [name, t] of Object.entries(byRow)) chunk[name] = padRows(sliceRows(t, from, to), width);
      const outputs = await session.run(Object.fromEntries(session.inputNames.map((name) => [name, chunk[name]!])));
      parts.push(Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, sliceRows(t, 0, to - from)])));
    }
    this.flops += runner.flopsPerSample * rows;
    const out: Record<string, HostTensor> = {};
    for (const name of Object.keys(parts[0]!)) out[name === signature.output ? 'out' : name] = concatRows(parts.map((p) => p[name]!));
    if (this.onCall) {
      const cpu = process.cpuUsage(cpuStarted);
      this.onCall({ reuse: cacheRows !== undefined, rows, seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
    }
    return out;
  }

  /** Row ranges that can run as one call of the graph. */
  private chunks(timesteps: number[]): [number, number][] {
    const { signature } = this.imported.record;
    const limit = signature.batch === 'dynamic' ? Infinity : signature.batch;
    const ranges: [number, number][] = [];
    let from = 0;
    for (let r = 1; r <= timesteps.length; r++) {
      const split = r === timesteps.length || r - from >= limit || (signature.timestepShape === 'scalar' && timesteps[r] !== timesteps[from]);
      if (split) {
        ranges.push([from, r]);
        from = r;
      }
    }
    return ranges;
  }

  async dispose(): Promise<void> {
    await this.full.dispose();
    await this.reuse?.dispose();
    this.files.dispose();
  }
}
