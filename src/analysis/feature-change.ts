// Analysis (a) of issue 5: how much each module's output moves from one sampler step to the next.
// Encoder propagation and DeepCache rest on the observation (Faster Diffusion, Fig. 2) that encoder
// features change far less between adjacent steps than decoder features; this measures it on a
// trained model along a real trajectory. The stem and every block are captured through the
// ModuleContext plan. The U-Net's middle stage 'mid' is not captured separately: its output is the
// output of its last block, mid.1, which is.

import type { TrainedModel } from '../pipeline/model-store.js';
import { makeGrid, parseGridSpec } from '../diffusion/grids.js';
import { getSampler } from '../diffusion/samplers/index.js';
import { RngStream } from '../engine/rng.js';
import { compile } from '../engine/runtime.js';
import { type ModuleInfo, type ModuleKind, type ModuleRole } from '../models/declarations.js';
import { netTraceFn } from '../models/network.js';
import { cacheName } from '../models/module-context.js';
import { DEFAULT_GRIDS, type NetForward, guidedRunner, sampleClasses } from '../pipeline/generate.js';
import { type Series, lineChart } from '../plot/svg.js';
import { networkDenoiser, objectiveProcess } from '../train/objectives.js';

export interface FeatureChangeSettings {
  sampler: string; // a sampler name of src/diffusion/samplers
  steps: number; // sampler steps; the first evaluation of each step is compared with the previous step's
  n: number; // samples, run as one batch
  seed: number; // noise seed: sample k starts from the noise `hasten sample --seed` gives it
  guidance: number; // classifier-free guidance weight (1: the plain conditional model)
}

export const FEATURE_CHANGE_DEFAULTS: Readonly<FeatureChangeSettings> = {
  sampler: 'ddim', // Faster Diffusion's analysis setting
  steps: 50, // likewise
  n: 16, // on shapes the role means of seeds 0 and 1 agree to 2%
  seed: 0,
  guidance: 1,
};

/** Module kinds whose outputs are compared: the stem and the blocks between it and the head. */
const MEASURED_KINDS: readonly ModuleKind[] = ['stem', 'block'];

export interface ModuleChange extends ModuleInfo {
  /** change[i - 1] = ||F_i − F_{i−1}|| / ||F_{i−1}|| for steps i = 1..steps−1 (Frobenius norms over the batch). */
  change: number[];
}

export interface RoleChange {
  role: ModuleRole;
  modules: number;
  /** The change averaged over the role's modules, at steps 1..steps−1. */
  per_step: number[];
  /** Mean over steps of per_step. */
  mean: number;
  /** Largest entry of per_step. */
  max: number;
}

export interface FeatureChangeResult extends FeatureChangeSettings {
  model: string;
  /** Noise level rho = sigma/alpha of each step's first evaluation, steps 0..steps−1. */
  noise_levels: number[];
  modules: ModuleChange[];
  roles: RoleChange[];
  wall_s: number;
}

/** ||current − previous|| / ||previous||; 0 when both are zero, Infinity when only previous is. */
export function relativeChange(current: ArrayLike<number>, previous: ArrayLike<number>): number {
  if (current.length !== previous.length) throw new Error(`relativeChange: ${current.length} values against ${previous.length}`);
  let diff = 0;
  let base = 0;
  for (let i = 0; i < current.length; i++) {
    const d = current[i]! - previous[i]!;
    diff += d * d;
    base += previous[i]! * previous[i]!;
  }
  if (diff === 0) return 0;
  return Math.sqrt(diff) / Math.sqrt(base);
}

/** Relative changes of module outputs between consecutive steps, fed one step at a time from step 0. */
export class FeatureChangeRecorder {
  /** Per path, the change at steps 1, 2, ... */
  readonly changes = new Map<string, number[]>();
  private previous = new Map<string, Float32Array>();
  private nextStep = 0;

  constructor(readonly paths: readonly string[]) {
    for (const path of paths) this.changes.set(path, []);
  }

  /** Records step `step`'s output of every path; steps must come in order 0, 1, 2, ... */
  record(step: number, outputOf: (path: string) => Float32Array): void {
    if (step !== this.nextStep) throw new Error(`feature change: expected step ${this.nextStep}, got step ${step}`);
    const current = new Map<string, Float32Array>();
    for (const path of this.paths) {
      // Copied, so a kept step never depends on how the runtime manages its output buffers.
      const output = Float32Array.from(outputOf(path));
      const previous = this.previous.get(path);
      if (previous) this.changes.get(path)!.push(relativeChange(output, previous));
      current.set(path, output);
    }
    this.previous = current;
    this.nextStep++;
  }
}

/** Per role: the module-averaged change at every step, its mean over steps and its maximum. */
export function summariseRoles(modules: readonly ModuleChange[]): RoleChange[] {
  const roles = [...new Set(modules.map((m) => m.role))];
  return roles.map((role) => {
    const members = modules.filter((m) => m.role === role);
    const steps = members[0]!.change.length;
    const perStep = Array.from({ length: steps }, (_, i) => members.reduce((sum, m) => sum + m.change[i]!, 0) / members.length);
    return { role, modules: members.length, per_step: perStep, mean: perStep.reduce((a, b) => a + b, 0) / steps, max: Math.max(...perStep) };
  });
}

export interface FeatureChangeOptions extends Partial<FeatureChangeSettings> {
  onStep?: (done: number, total: number) => void;
}

/** Runs the sampler on `n` samples of a trained model, capturing every measured module at every step. */
export async function featureChange(trained: TrainedModel, options: FeatureChangeOptions = {}): Promise<FeatureChangeResult> {
  const { onStep, ...given } = options;
  const settings: FeatureChangeSettings = { ...FEATURE_CHANGE_DEFAULTS, ...given };
  const { steps, n, seed, guidance } = settings;
  if (!Number.isInteger(steps) || steps < 2) throw new RangeError(`feature change: steps must be an integer >= 2 (a change needs two steps), got ${steps}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`feature change: n must be a positive integer, got ${n}`);
  const sampler = getSampler(settings.sampler);
  const { model, params, config } = trained;
  const measured = model.modules().filter((m) => MEASURED_KINDS.includes(m.kind));
  const recorder = new FeatureChangeRecorder(measured.map((m) => m.path));
  const process = objectiveProcess(config.objective);
  const grid = makeGrid(process, parseGridSpec(DEFAULT_GRIDS[config.objective.name]), steps);
  const perSample = config.dataShape.reduce((a, b) => a * b, 1);
  const noise = RngStream.fromSeed(seed, 'sample-noise').normal({ start: 0, count: n }, config.dataShape, new Float64Array(n * perSample));
  const labels = sampleClasses(trained, n)?.map((c) => BigInt(c));

  const started = performance.now();
  const compiled = compile(netTraceFn(model, { capture: new Set(recorder.paths) }), { params, name: trained.name });
  const forward: NetForward = async (feeds, call) => {
    const outputs = await compiled.run(feeds);
    if (call.stage === 0) {
      recorder.record(call.step, (path) => outputs[cacheName(path)]!.data as Float32Array);
      onStep?.(call.step + 1, steps);
    }
    return outputs.out!.data as Float32Array;
  };
  try {
    const { denoiser } = networkDenoiser(config.objective, guidedRunner(trained, forward, labels, guidance), n);
    await sampler.sample(denoiser, process, noise, grid);
  } finally {
    await compiled.dispose();
  }
  const modules = measured.map((m) => ({ ...m, change: recorder.changes.get(m.path)! }));
  return {
    ...settings,
    model: trained.name,
    noise_levels: Array.from(grid.subarray(0, steps), (t) => process.rho(t)),
    modules,
    roles: summariseRoles(modules),
    wall_s: (performance.now() - started) / 1000,
  };
}

/** Hue of each role's shades: encoder blue, middle grey (no saturation), decoder red; anything else green. */
const ROLE_HUES: Partial<Record<ModuleRole, { hue: number; saturation: number }>> = {
  encoder: { hue: 215, saturation: 70 },
  middle: { hue: 0, saturation: 0 },
  decoder: { hue: 0, saturation: 75 },
};
const OTHER_ROLES = { hue: 130, saturation: 50 };

/** One shade per module of a role, dark (first) to light (last), so neighbours in the network are told apart. */
function roleColours(modules: readonly ModuleInfo[]): string[] {
  return modules.map((m) => {
    const members = modules.filter((other) => other.role === m.role);
    const position = members.length > 1 ? members.indexOf(m) / (members.length - 1) : 0;
    const { hue, saturation } = ROLE_HUES[m.role] ?? OTHER_ROLES;
    return `hsl(${hue}, ${saturation}%, ${Math.round(25 + 40 * position)}%)`;
  });
}

/** Relative change against step, one line per module, coloured by role. */
export function featureChangeChart(result: FeatureChangeResult): string {
  const colours = roleColours(result.modules);
  const series: Series[] = result.modules.map((m, index) => ({
    name: `${m.path} (${m.role})`,
    color: colours[index],
    points: m.change.map((value, i) => [i + 1, value] as const),
  }));
  return lineChart(series, {
    title: `Relative change of module outputs between adjacent steps (${result.model}, ${result.sampler}, ${result.steps} steps, n = ${result.n})`,
    xLabel: 'step i (0 = noisiest)',
    yLabel: '||F_i - F_(i-1)|| / ||F_(i-1)||',
    yScale: 'log',
    width: 1000,
    height: 600,
  });
}
