// Training steps of two hasten builds timed side by side in one process: each build (a checkout with
// its dist/ compiled) builds the same step from its own code, and the steps run interleaved, so a
// shared, noisy machine slows both alike. Medians of wall and process CPU time per step; the peak
// memory of each build's step in a process of its own. Used to measure an engine change against
// the code before it (`hasten bench train --baseline DIR`).

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuMsSince, median } from './timing.js';

/** What to train: the reference workload of `hasten bench engine`, or a shipped or trained model's configuration. */
export type StepSubject = { workload: 'engine' } | { model: string; batch?: number };

export interface BuiltStep {
  run(): Promise<number>; // one update; returns the loss
  dispose(): Promise<void>;
  batch: number;
}

/** The checkout this module was compiled from. */
export const THIS_BUILD = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

type Module = Record<string, any>; // another build's modules: typed by that build, not this one

/** A module of the build at `root` (a checkout with its dist/ compiled), by its path under src/ as compiled: 'pipeline/generate.js'. */
export async function loadBuildModule(root: string, path: string): Promise<Module> {
  const file = join(root, 'dist', 'src', path);
  if (!existsSync(file)) throw new Error(`${root} is not a built hasten checkout: ${file} is missing (run npm ci there)`);
  return (await import(pathToFileURL(file).href)) as Module;
}

/** Builds the step as the build at `root` does. */
export async function buildStep(root: string, subject: StepSubject): Promise<BuiltStep> {
  const { TrainStep } = await loadBuildModule(root, 'engine/train-step.js');
  if ('workload' in subject) {
    const F = await loadBuildModule(root, 'engine/ops/index.js');
    const W = await loadBuildModule(root, 'bench/engine-workload.js');
    const shape = [W.WORKLOAD.batch, W.WORKLOAD.imageChannels, W.WORKLOAD.resolution, W.WORKLOAD.resolution];
    const batch = { x: W.randomTensor(shape, 6), target: W.randomTensor(shape, 7, 0.5) };
    const step = new TrainStep(W.workloadParams(), (g: any, { x, target }: any) => F.mean(F.square(F.sub(W.workloadForward(g, x), target))));
    return { run: async () => (await step.step(batch, 1e-4)).loss, dispose: () => step.dispose(), batch: W.WORKLOAD.batch };
  }
  const [{ loadTrainedModel }, { createModel }, { objectiveSettings, prepareBatch }, { openDataset }, { initParams }, { ModuleContext }, { weightedLoss }] = await Promise.all(
    ['pipeline/model-store.js', 'models/registry.js', 'train/objectives.js', 'data/registry.js', 'models/init.js', 'models/module-context.js', 'train/loss.js'].map((path) => loadBuildModule(root, path)),
  );
  const trained = await loadTrainedModel(subject.model);
  const model = createModel(trained.config.model);
  const batchSize: number = subject.batch ?? trained.config.batch;
  const dataset = openDataset(trained.config.data, { resolution: trained.config.resolution });
  const real = dataset.sample({ start: 0, count: batchSize }, 0);
  const prepared = prepareBatch(objectiveSettings(trained.config.objective.name, trained.config.objective), real.x.data, batchSize, 0, 0);
  const shape = [batchSize, ...dataset.shape];
  const feeds: Module = {
    x: { dtype: 'float32', shape, data: prepared.input },
    noise: { dtype: 'float32', shape: [batchSize], data: prepared.noiseLabel },
    target: { dtype: 'float32', shape, data: prepared.target },
    weight: { dtype: 'float32', shape: [batchSize], data: prepared.weight },
  };
  if (model.config.numClasses > 0 && real.labels) feeds.label = real.labels;
  const step = new TrainStep(initParams(model, 0), (g: any, inputs: any) => weightedLoss(model.forward(new ModuleContext(g), { x: inputs.x, noise: inputs.noise, label: inputs.label }), inputs.target, inputs.weight));
  return { run: async () => (await step.step(feeds, 1e-4)).loss, dispose: () => step.dispose(), batch: batchSize };
}

export interface SideTiming {
  build: string;
  step_ms: number; // median wall time
  step_cpu_ms: number; // median process CPU time (user + system) per step
  images_per_second: number;
  first_loss: number;
  peak_rss_mb?: number; // the step's process, measured on its own
}

/**
 * Times the step of each build interleaved: `warmup` untimed steps each, then `repeats` rounds of one
 * step per build. The same data and initialisation on every side, so the first losses agree when the
 * builds compute the same function.
 */
export async function timeSideBySide(roots: readonly string[], subject: StepSubject, { warmup = 2, repeats = 7 } = {}): Promise<SideTiming[]> {
  const sides = [];
  for (const root of roots) {
    const step = await buildStep(root, subject);
    const firstLoss = await step.run();
    for (let i = 1; i < warmup; i++) await step.run();
    sides.push({ root, step, firstLoss, wall: [] as number[], cpu: [] as number[] });
  }
  for (let r = 0; r < repeats; r++) {
    for (const side of sides) {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await side.step.run();
      side.wall.push(performance.now() - t0);
      side.cpu.push(cpuMsSince(cpu));
    }
  }
  for (const side of sides) await side.step.dispose();
  return sides.map((side) => ({
    build: side.root,
    step_ms: median(side.wall),
    step_cpu_ms: median(side.cpu),
    images_per_second: (1000 * side.step.batch) / median(side.wall),
    first_loss: side.firstLoss,
  }));
}

/** Peak RSS (MB) of a process that builds the step of the build at `root` and takes `steps` steps. */
export function stepPeakMemoryMb(root: string, subject: StepSubject, steps = 3): number {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), root, JSON.stringify(subject), String(steps)], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [root, subject, steps] = process.argv.slice(2);
  (async () => {
    const step = await buildStep(root!, JSON.parse(subject!) as StepSubject);
    for (let i = 0; i < Number(steps); i++) await step.run();
    await step.dispose();
    console.log(process.resourceUsage().maxRSS / 1024);
  })();
}
