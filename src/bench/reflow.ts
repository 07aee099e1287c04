// `hasten bench reflow`: rectified flow++'s ablation on one teacher. Pairs from the teacher's ODE,
// then one student per configuration, each adding one change to the last:
//   baseline               uniform t, squared L2                    (2-rectified flow, started from the teacher)
//   u-shaped               + U-shaped t
//   pseudo-huber           + pseudo-Huber loss
//   perceptual-huber       + perceptual Huber: (1 − t)·H + P
//   perceptual-huber-divt  + P weighted by 1/t
// Each student is measured at 1 and 2 NFE (sample quality, class accuracy, straightness), beside
// the teacher at 1, 2, 4 and 35 NFE with its best sampler at each. Everything lands in a work
// directory that a rerun reuses: pairs resume, finished students are not retrained, and the
// measurements of an unchanged model under unchanged settings are read back instead of redone.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDataset } from '../data/registry.js';
import { writeFileAtomic } from '../engine/atomic-write.js';
import { loadCheckpoint } from '../engine/checkpoint.js';
import { getSampler } from '../diffusion/samplers/index.js';
import { openFeatureNet, scoreSamples } from '../pipeline/evaluate-model.js';
import { generate } from '../pipeline/generate.js';
import { type TrainedModel, loadTrainedModel } from '../pipeline/model-store.js';
import { type TrainConfig, checkpointDir } from '../train/trainer.js';
import { type LossByTimeSettings, lossByTime } from '../reflow/loss-by-time.js';
import { type ReflowLoss, REFLOW_LOSS_DEFAULTS } from '../reflow/loss.js';
import { type PairSettings, generatePairs, openPairs } from '../reflow/pairs.js';
import { type StraightnessSettings, modelStraightness } from '../reflow/straightness.js';
import { type TimeDistributionName, timeDistribution } from '../reflow/timesteps.js';
import { type ReflowTrainConfig, reflowTrainConfig, trainReflow } from '../reflow/train.js';
import { modelVelocity } from '../reflow/velocity.js';
import { InputError } from '../engine/input-error.js';

export interface AblationConfig {
  id: string;
  summary: string;
  time: TimeDistributionName;
  loss: Pick<ReflowLoss, 'kind'> & Partial<ReflowLoss>;
}

export const ABLATION: readonly AblationConfig[] = [
  { id: 'baseline', summary: 'uniform t, squared L2', time: 'uniform', loss: { kind: 'l2' } },
  { id: 'u-shaped', summary: '+ U-shaped t', time: 'u-shaped', loss: { kind: 'l2' } },
  { id: 'pseudo-huber', summary: '+ pseudo-Huber', time: 'u-shaped', loss: { kind: 'pseudo-huber' } },
  { id: 'perceptual-huber', summary: '+ perceptual Huber', time: 'u-shaped', loss: { kind: 'perceptual-huber', perceptualWeighting: 'one' } },
  { id: 'perceptual-huber-divt', summary: '+ 1/t on the perceptual term', time: 'u-shaped', loss: { kind: 'perceptual-huber', perceptualWeighting: 'inverse-t' } },
];

/** A sampler run: NAME, or NAME@GRID for a grid other than the objective's default. */
export interface SamplerAndGrid {
  sampler: string;
  grid?: string;
}

export function parseSamplerChoice(text: string): SamplerAndGrid {
  const [sampler = '', grid] = text.split('@');
  getSampler(sampler);
  return grid ? { sampler, grid } : { sampler };
}

export interface ReflowBenchSettings {
  teacher: string; // NAME|PATH of the teacher
  work: string; // directory for pairs and students, reused by a rerun
  pairs: Omit<PairSettings, 'teacher'>; // pair generation
  training: Partial<TrainConfig>; // students' training settings (steps, batch, lr, ...)
  configs: string[]; // ablation ids to run, in ABLATION's order
  n: number; // samples per evaluation
  seed: number; // evaluation noise: every model sees the same
  batch: number; // samples per network call when evaluating
  teacherNfes: number[]; // NFEs at which the teacher is measured
  teacherSamplers: SamplerAndGrid[]; // candidates for the teacher's best sampler at each NFE
  studentSamplers: (SamplerAndGrid & { steps: number })[]; // how students are sampled
  straightness: StraightnessSettings;
  lossByTime: LossByTimeSettings;
  features?: string; // feature network for the perceptual term and FD; default: the dataset's shipped one
}

export const REFLOW_BENCH_DEFAULTS = {
  configs: ABLATION.map((c) => c.id),
  teacherNfes: [1, 2, 4, 35], // the issue's: few-step against the 35-NFE teacher that made the pairs
  teacherSamplers: ['heun', 'dpmpp-2m', 'ipndm', 'rf-euler@rf', 'rf-heun@rf'].map(parseSamplerChoice),
  // Euler at 1 and 2 NFE. rf-new would add nothing here: from t = 1 its first re-noising is Euler's step,
  // so at 2 steps the two differ by t_1·(1 − t_0)·x0 ≈ 1e-5·x0.
  studentSamplers: [{ sampler: 'rf-euler', steps: 1 }, { sampler: 'rf-euler', steps: 2 }],
};

export interface ReflowBenchRow {
  model: string;
  config: string;
  sampler: string; // NAME or NAME@GRID
  steps: number;
  nfe: number;
  fd?: number; // images: FD in the evaluation feature network's space
  swd?: number; // points: sliced Wasserstein distance
  accuracy: number | null; // class accuracy of conditional image samples
  straightness: number;
}

export interface ReflowBenchResult {
  rows: ReflowBenchRow[];
  floor: { fd_floor?: number; swd_floor?: number }; // the real-vs-real distance at the same n
  teacher_candidates: ReflowBenchRow[]; // every teacher sampler tried, the best of which are in rows
  loss_vs_t: Record<string, { t: number; loss: number }[]>; // the plain reflow loss by time: teacher and baseline
  seconds: Record<string, number>; // wall time of each phase
}

export type BenchLog = (message: string) => void;

/** What one phase (the teacher, or one student) measured; saved in the work directory. */
interface PhaseMeasurements {
  rows: ReflowBenchRow[]; // the rows it adds to the result
  candidates: ReflowBenchRow[]; // teacher: every sampler tried
  floor: ReflowBenchResult['floor'];
  straightness: number;
  loss?: { t: number; loss: number }[]; // the loss by time, when asked for
}

const choiceName = (choice: SamplerAndGrid): string => (choice.grid ? `${choice.sampler}@${choice.grid}` : choice.sampler);

/** Canonical JSON (sorted keys, no undefined) to compare a saved run's settings with a new one's. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

/**
 * What `measure` returns, saved under `file` beside the settings it depends on (`key`, which names
 * the model's weights by their save id); a rerun with the same key reads it back.
 */
async function measuredOnce<T>(file: string, key: unknown, measure: () => Promise<T>, log: BenchLog): Promise<T> {
  if (existsSync(file)) {
    let saved: { key: unknown; value: T } | undefined;
    try {
      saved = JSON.parse(await readFile(file, 'utf8')) as { key: unknown; value: T };
    } catch (error) {
      log(`  ${file}: unreadable (${(error as Error).message}), measuring again`);
    }
    if (saved && canonical(saved.key) === canonical(key)) {
      log(`  ${file}: measured before with these settings, reused`);
      return saved.value;
    }
  }
  const value = await measure();
  await writeFileAtomic(file, `${JSON.stringify({ key, value }, null, 1)}\n`);
  return value;
}

async function trainStudent(config: ReflowTrainConfig, out: string, log: BenchLog): Promise<void> {
  const checkpoint = join(checkpointDir(out), 'checkpoint.json');
  if (existsSync(checkpoint)) {
    const saved = await loadCheckpoint(checkpointDir(out));
    const { dataShape: _shape, classNames: _names, ...settings } = saved.config;
    if (canonical(settings) !== canonical(config)) throw new InputError(`${out} holds a student trained with other settings: remove it or choose another --work`);
    if (saved.step === config.steps) return log(`  ${out}: already trained, reused`);
    log(`  ${out}: resuming at step ${saved.step}`);
  }
  await trainReflow(config, out, { resume: existsSync(checkpoint), callbacks: {} });
}

export async function runReflowBench(settings: ReflowBenchSettings, log: BenchLog = () => undefined): Promise<ReflowBenchResult> {
  const unknown = settings.configs.filter((id) => !ABLATION.some((c) => c.id === id));
  if (unknown.length > 0) throw new InputError(`unknown ablation config ${unknown.map((u) => `'${u}'`).join(', ')} (known: ${ABLATION.map((c) => c.id).join(', ')})`);
  const seconds: Record<string, number> = {};
  const timed = async <T>(phase: string, body: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await body();
    } finally {
      seconds[phase] = (performance.now() - started) / 1000;
    }
  };
  const teacher = await loadTrainedModel(settings.teacher);
  const dataset = openDataset(teacher.config.data, { resolution: teacher.config.resolution });
  const featureNet = dataset.kind === 'images' ? await openFeatureNet(teacher, settings.features) : undefined;
  const result: ReflowBenchResult = { rows: [], floor: {}, teacher_candidates: [], loss_vs_t: {}, seconds };
  try {
    const pairDir = join(settings.work, 'pairs');
    log(`pairs: ${settings.pairs.count} from ${settings.teacher} (${settings.pairs.sampler}, ${settings.pairs.steps} steps) in ${pairDir}`);
    // The bench's work folder is its own: pairs already there are continued.
    await timed('pairs', () => generatePairs({ ...settings.pairs, teacher: settings.teacher }, pairDir, {}, { resume: existsSync(join(pairDir, 'manifest.json')) }));
    const pairs = await openPairs(pairDir);

    /** One sampler run of `trained`, scored; the real-vs-real distance at the same n goes into `floor`. */
    const measure = async (trained: TrainedModel, config: string, choice: SamplerAndGrid, steps: number, straightness: number, floor: ReflowBenchResult['floor']): Promise<ReflowBenchRow> => {
      const generated = await generate(trained, { ...choice, steps, n: settings.n, seed: settings.seed, batch: settings.batch });
      const scores = await scoreSamples(trained, generated.images, generated.labels, settings.seed, featureNet);
      const row: ReflowBenchRow = { model: trained.name, config, sampler: choiceName(choice), steps, nfe: generated.nfe, accuracy: null, straightness };
      if ('fd' in scores) {
        Object.assign(row, { fd: scores.fd, accuracy: scores.accuracy ?? null });
        floor.fd_floor = scores.fd_floor;
      } else {
        row.swd = scores.swd;
        floor.swd_floor = scores.swd_floor;
      }
      return row;
    };
    const quality = (row: ReflowBenchRow): number => row.fd ?? row.swd!;
    /** Straightness, and with `withLoss` the loss by time on the pairs. */
    const diagnostics = async (trained: TrainedModel, withLoss: boolean): Promise<Pick<PhaseMeasurements, 'straightness' | 'loss'>> => {
      const velocity = modelVelocity(trained);
      try {
        const loss = withLoss ? await lossByTime(trained, velocity, pairs, settings.lossByTime) : undefined;
        return { straightness: await modelStraightness(trained, velocity, settings.straightness), ...(loss && { loss }) };
      } finally {
        await velocity.dispose();
      }
    };
    const absorb = (measured: PhaseMeasurements, lossKey: string): void => {
      result.rows.push(...measured.rows);
      result.teacher_candidates.push(...measured.candidates);
      Object.assign(result.floor, measured.floor);
      if (measured.loss) result.loss_vs_t[lossKey] = measured.loss;
    };

    const evaluation = { n: settings.n, seed: settings.seed, batch: settings.batch, straightness: settings.straightness, features: settings.features ?? null };
    await timed('teacher', async () => {
      log(`teacher: ${settings.teacherSamplers.map(choiceName).join(', ')} at ${settings.teacherNfes.join(', ')} NFE`);
      const key = { teacher: teacher.saveId, ...evaluation, samplers: settings.teacherSamplers, nfes: settings.teacherNfes, lossByTime: settings.lossByTime };
      absorb(await measuredOnce(join(settings.work, 'teacher-rows.json'), key, async () => {
        const phase: PhaseMeasurements = { rows: [], candidates: [], floor: {}, ...(await diagnostics(teacher, true)) };
        for (const nfe of settings.teacherNfes) {
          for (const choice of settings.teacherSamplers) {
            const definition = getSampler(choice.sampler);
            let steps = 1;
            while (definition.nfe(steps + 1) <= nfe) steps++;
            if (definition.nfe(steps) > nfe || phase.candidates.some((r) => r.sampler === choiceName(choice) && r.steps === steps)) continue;
            phase.candidates.push(await measure(teacher, 'teacher', choice, steps, phase.straightness, phase.floor));
          }
          const pool = phase.candidates.filter((r) => r.nfe <= nfe);
          phase.rows.push(pool.reduce((best, row) => (quality(row) < quality(best) ? row : best)));
        }
        return phase;
      }, log), 'teacher');
    });

    for (const ablation of ABLATION.filter((c) => settings.configs.includes(c.id))) {
      const out = join(settings.work, 'students', ablation.id);
      log(`${ablation.id} (${ablation.summary}): training into ${out}`);
      const config = reflowTrainConfig(teacher, pairs, {
        pairs: pairDir,
        time: timeDistribution(ablation.time),
        loss: { ...REFLOW_LOSS_DEFAULTS, ...ablation.loss },
        ...(settings.features && { features: settings.features }),
        realFraction: 0,
      }, settings.training);
      await timed(`train ${ablation.id}`, () => trainStudent(config, out, log));
      await timed(`evaluate ${ablation.id}`, async () => {
        const student = await loadTrainedModel(out);
        const withLoss = ablation.id === 'baseline';
        const key = { student: student.saveId, ...evaluation, samplers: settings.studentSamplers, lossByTime: withLoss ? settings.lossByTime : null };
        absorb(await measuredOnce(join(out, 'bench-rows.json'), key, async () => {
          const phase: PhaseMeasurements = { rows: [], candidates: [], floor: {}, ...(await diagnostics(student, withLoss)) };
          for (const choice of settings.studentSamplers) phase.rows.push(await measure(student, ablation.id, choice, choice.steps, phase.straightness, phase.floor));
          return phase;
        }, log), ablation.id);
      });
    }
  } finally {
    await featureNet?.dispose();
  }
  return result;
}
