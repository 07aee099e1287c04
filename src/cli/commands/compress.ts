// `hasten compress`: a faster student U-Net from a teacher (A-SDM model assembly, BK-SDM's recipe):
// modules removed, the rest started from the teacher's weights, then distilled. Ctrl-C checkpoints
// and stops; --resume continues in the phase it stopped in.

import { type Command, UsageError, parseList, parseNumber } from '../command.js';
import { COMPRESS_DEFAULTS, type CompressSettings, SCHEDULES, type Schedule, compress, readCompressSettings } from '../../compress/compress.js';
import { CompressError, PRESETS, STUDENT_INITS, type StudentInit, presetRemovals, requireUNet } from '../../compress/assemble.js';
import { moduleFlops } from '../../models/flops.js';
import { checkpointDir } from '../../train/trainer.js';
import { Progress } from '../progress.js';
import { openModel } from './sample.js';

const { training, weights } = COMPRESS_DEFAULTS;

function oneOf<T extends string>(flag: string, raw: string | boolean | undefined, allowed: readonly T[]): T {
  if (typeof raw !== 'string' || !allowed.includes(raw as T)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got '${String(raw)}'`);
  return raw as T;
}

export const compressCommand: Command = {
  path: ['compress'],
  summary: 'build a faster student U-Net: remove blocks or layers, start from the teacher, distil (one shot or progressive incubation)',
  options: {
    teacher: { type: 'string', placeholder: 'NAME|PATH', description: 'the teacher: a shipped model name or a training output directory (a U-Net)' },
    remove: { type: 'string', placeholder: 'P,P,...', description: "module paths to remove (see 'hasten analyze redundancy' for the removable ones and their cost)" },
    preset: { type: 'string', placeholder: 'NAME', description: `a named removal instead of --remove: ${Object.entries(PRESETS).map(([name, p]) => `${name} (${p.description})`).join('; ')}` },
    out: { type: 'string', placeholder: 'DIR', description: 'output directory: the student checkpoint, log.jsonl, compress.json' },
    resume: { type: 'boolean', description: 'continue the job in --out with the settings it was started with' },
    init: { type: 'string', placeholder: 'HOW', description: `where kept layers start: ${STUDENT_INITS.join(' | ')} (neighbour: a kept block after a removed one starts from the removed block, as BK-SDM)`, default: COMPRESS_DEFAULTS.init },
    schedule: { type: 'string', placeholder: 'NAME', description: `oneshot (distil the whole student) | incubate (each pruned stage alone inside the frozen teacher, then the assembled student)`, default: COMPRESS_DEFAULTS.schedule },
    'incubate-share': { type: 'string', placeholder: 'F', description: 'incubate: share of the steps spent on the stages; the rest fine-tunes the assembled student', default: String(COMPRESS_DEFAULTS.incubateShare) },
    'data-weight': { type: 'string', placeholder: 'W', description: "weight of the objective's loss against the data", default: String(weights.data) },
    'output-weight': { type: 'string', placeholder: 'W', description: "weight of the loss against the teacher's denoised output (EDM weighting)", default: String(weights.output) },
    'feature-weight': { type: 'string', placeholder: 'W', description: 'weight of the feature loss at every block output both networks compute', default: String(weights.feature) },
    'semantic-weight': { type: 'string', placeholder: 'W', description: "weight of semantic-aware supervision: predicted x0 against the teacher's in the feature network's space", default: String(weights.semantic) },
    features: { type: 'string', placeholder: 'DIR', description: 'feature network of the semantic loss (default: the shipped one for the data)' },
    steps: { type: 'string', placeholder: 'N', description: 'total optimizer steps (all phases)', default: String(training.steps) },
    batch: { type: 'string', placeholder: 'B', description: 'samples per step', default: String(training.batch) },
    lr: { type: 'string', placeholder: 'LR', description: 'peak learning rate (linear decay to 0)', default: String(training.lr) },
    warmup: { type: 'string', placeholder: 'N', description: 'warm-up steps of each phase', default: String(training.warmup) },
    'ema-half-life': { type: 'string', placeholder: 'IMAGES', description: 'EMA half-life in training images', default: String(training.emaHalfLifeImages) },
    'checkpoint-every': { type: 'string', placeholder: 'N', description: 'steps between checkpoints', default: String(training.checkpointEvery) },
    seed: { type: 'string', placeholder: 'S', description: 'seed of data order and noise', default: String(training.seed) },
    json: { type: 'boolean', description: 'print a JSON summary at the end' },
  },
  details: 'Example: hasten compress --teacher shapes --preset bk-base --out runs/shapes-small --steps 2000\nThe student is a model like any other: hasten eval --model runs/shapes-small; hasten sample --model shapes --switch runs/shapes-small@sigma>2.\nLoss terms are logged per step in log.jsonl (data, output, feature, semantic); incubation phases log under DIR/incubate/<stage>/.',
  async run(values) {
    const out = values.out;
    if (typeof out !== 'string') throw new UsageError('--out DIR is required');
    let settings: CompressSettings;
    if (values.resume) {
      try {
        settings = readCompressSettings(out);
      } catch (error) {
        throw error instanceof CompressError ? new UsageError(error.message) : error;
      }
    } else {
      if (typeof values.teacher !== 'string') throw new UsageError('--teacher NAME|PATH is required');
      if ((values.remove === undefined) === (values.preset === undefined)) throw new UsageError('give exactly one of --remove P,P,... and --preset NAME');
      const teacher = await openModel(values.teacher);
      let remove: string[];
      try {
        remove = typeof values.preset === 'string' ? presetRemovals(values.preset, requireUNet(teacher.model, `the teacher '${teacher.name}'`)) : parseList(values.remove) ?? [];
      } catch (error) {
        throw error instanceof CompressError ? new UsageError(error.message) : error;
      }
      const weight = (flag: string): number => parseNumber(flag, values[flag], { min: 0 })!;
      settings = {
        teacher: teacher.location,
        remove,
        init: oneOf<StudentInit>('init', values.init, STUDENT_INITS),
        schedule: oneOf<Schedule>('schedule', values.schedule, SCHEDULES),
        incubateShare: parseNumber('incubate-share', values['incubate-share'], { min: 0 })!,
        weights: { data: weight('data-weight'), output: weight('output-weight'), feature: weight('feature-weight'), semantic: weight('semantic-weight') },
        ...(typeof values.features === 'string' && { features: values.features }),
        training: {
          ...training,
          steps: parseNumber('steps', values.steps, { integer: true, min: 1 })!,
          batch: parseNumber('batch', values.batch, { integer: true, min: 1 })!,
          lr: parseNumber('lr', values.lr, { min: 0 })!,
          warmup: parseNumber('warmup', values.warmup, { integer: true, min: 0 })!,
          emaHalfLifeImages: parseNumber('ema-half-life', values['ema-half-life'], { min: 0 })!,
          checkpointEvery: parseNumber('checkpoint-every', values['checkpoint-every'], { integer: true, min: 1 })!,
          seed: parseNumber('seed', values.seed, { integer: true, min: 0 })!,
        },
      };
    }
    const teacher = await openModel(settings.teacher);
    let interrupted = false;
    const onSignal = (): void => {
      if (interrupted) process.exit(130);
      interrupted = true;
      process.stderr.write('\ncompress: stopping after this step and saving a checkpoint (Ctrl-C again to quit now)\n');
    };
    process.on('SIGINT', onSignal);
    let progress: Progress | undefined;
    try {
      const result = await compress(teacher, settings, out, {
        resume: Boolean(values.resume),
        callbacks: {
          quiet: true,
          shouldStop: () => interrupted,
          onPhase: (phase, index, total) => {
            progress?.finish();
            if (!values.json) process.stderr.write(`compress: phase ${index + 1}/${total}, ${phase.name} (${phase.steps} steps) in ${phase.dir}\n`);
            progress = values.json ? undefined : new Progress({ label: phase.name, total: phase.steps, unit: 'it' });
          },
          onLog: (entry) => progress?.update(entry.step!, Object.fromEntries(Object.entries(entry).filter(([key]) => ['loss', 'data', 'output', 'feature', 'semantic'].includes(key)))),
        },
      });
      progress?.finish();
      const teacherGflops = moduleFlops(teacher.model).total / 1e9;
      const studentGflops = moduleFlops(result.student).total / 1e9;
      const summary = { out, stopped: result.stopped, phases: result.phases.map((p) => ({ name: p.name, step: p.step, loss: p.lastLoss })), params: result.student.paramCount(), teacher_params: teacher.model.paramCount(), gflops: studentGflops, teacher_gflops: teacherGflops };
      if (values.json) console.log(JSON.stringify(summary));
      else console.log(`${result.stopped ? 'stopped (continue with --resume)' : 'finished'}; student in ${checkpointDir(out)}: ${summary.params} parameters (teacher ${summary.teacher_params}), ${studentGflops.toFixed(3)} GFLOPs per image (teacher ${teacherGflops.toFixed(3)}, ${(teacherGflops / studentGflops).toFixed(2)}x)`);
    } catch (error) {
      throw error instanceof CompressError ? new UsageError(error.message) : error;
    } finally {
      process.off('SIGINT', onSignal);
    }
  },
};
