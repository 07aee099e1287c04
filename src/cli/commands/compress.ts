// `hasten compress`: a faster student U-Net from a teacher (A-SDM model assembly, BK-SDM's recipe):
// modules removed, the rest started from the teacher's weights, then distilled. Ctrl-C checkpoints
// and stops; --resume continues in the phase it stopped in, with the settings the job started with.

import { plural } from '../plural.js';
import { defineCommand } from '../command.js';
import { choice, flag, int, list, num, text, UsageError } from '../options.js';
import { modelName } from '../sampling.js';
import { stoppable } from '../stoppable.js';
import { Progress } from '../progress.js';
import { refuseResumeOptions, scheduleOptions } from '../training.js';
import { COMPRESS_DEFAULTS, type CompressSettings, SCHEDULES, compress, readCompressSettings } from '../../compress/compress.js';
import { PRESETS, STUDENT_INITS, presetRemovals, requireUNet } from '../../compress/assemble.js';
import { EXPERT_INITS } from '../../compress/expert-init.js';
import { COND_CONV_DEFAULTS } from '../../models/cond-conv.js';
import { moduleFlops } from '../../models/flops.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { checkpointDir } from '../../train/trainer.js';

const { training, weights } = COMPRESS_DEFAULTS;
const schedule = scheduleOptions(training);
const weight = (what: string, fallback: number) => num({ placeholder: 'W', min: 0, default: fallback, description: `weight of ${what}` });

export const compressCommand = defineCommand({
  path: ['compress'],
  summary: 'build a faster student U-Net: remove blocks or layers, start from the teacher, distil (one shot or progressive incubation)',
  // --init names the model a run starts from (train, reflow train); here it is how the student's layers start.
  renamed: { init: `use --student-init HOW (${STUDENT_INITS.join(', ')}); --init names a model to start from in train and reflow train` },
  options: {
    teacher: modelName('teacher', { description: 'the teacher, a U-Net (required unless --resume)' }),
    remove: list('text', { placeholder: 'P,P,...', description: "module paths to remove ('hasten analyze redundancy' lists the removable ones and what each costs)" }),
    preset: choice(Object.keys(PRESETS), { placeholder: 'NAME', description: `a named removal instead of --remove: ${Object.entries(PRESETS).map(([name, p]) => `${name} (${p.description})`).join('; ')}` }),
    'student-init': choice(STUDENT_INITS, { placeholder: 'HOW', default: COMPRESS_DEFAULTS.init, description: 'where kept layers start (neighbour: a kept block after a removed one starts from the removed block, as BK-SDM)' }),
    'cond-conv': list('text', { placeholder: 'L,L,...', description: "residual layers (e.g. dec.1.1.res) whose 3x3 convolutions become multi-expert conditional convolutions (ME-CondConv)" }),
    experts: int({ placeholder: 'K', min: 1, default: COND_CONV_DEFAULTS.condConvExperts, description: 'experts of each conditional convolution' }),
    'expert-init': choice(EXPERT_INITS, { placeholder: 'HOW', default: 'clme', description: "where the experts start: clme (the surviving conv and the convs pruned in its stage, CLME-CondConv), surviving (it plus noise), random" }),
    schedule: choice(SCHEDULES, { placeholder: 'NAME', default: COMPRESS_DEFAULTS.schedule, description: 'oneshot: distil the whole student; incubate: each pruned stage alone inside the frozen teacher, then the assembled student' }),
    'incubate-share': num({ placeholder: 'F', above: 0, max: 0.99, default: COMPRESS_DEFAULTS.incubateShare, description: 'incubate: share of the steps spent on the stages; the rest fine-tunes the assembled student' }),
    'data-weight': weight("the objective's loss against the data", weights.data),
    'output-weight': weight("the loss against the teacher's denoised output (EDM weighting)", weights.output),
    'feature-weight': weight('the feature loss at every block output both networks compute (relative squared distance)', weights.feature),
    'semantic-weight': weight("semantic-aware supervision: predicted x0 against the teacher's in a frozen network's feature space (--features)", weights.semantic),
    features: text({ placeholder: 'NAME|PATH', description: "network of the semantic loss: a snippet encoder (hasten gmem train-encoder) or a feature network (default: the snippet encoder shipped for the data, encoder-shapes; the feature network FD is measured with would grade its own homework)" }),
    ...schedule,
    steps: { ...schedule.steps, description: 'optimizer steps of the whole job (all phases)' },
    warmup: { ...schedule.warmup, description: 'learning-rate warm-up steps of each phase' },
    seed: int({ placeholder: 'S', min: 0, default: training.seed, description: 'seed of data order and noise' }),
    out: text({ placeholder: 'DIR', required: true, description: 'output directory: the student (checkpoint/, log.jsonl), compress.json, incubate/<stage>/' }),
    resume: flag({ description: 'continue the job in DIR, in the phase it stopped in, with the settings in DIR/compress.json (no other option may be given)' }),
    overwrite: flag({ description: 'replace the job (or run) DIR holds with a new one' }),
  },
  details: 'Example: hasten compress --teacher shapes --remove dec.0.up.res,dec.1.0.res,mid --out runs/shapes-small --steps 2000\n' +
    'The student is a model like any other: hasten eval --model runs/shapes-small; hasten sample --model shapes --switch runs/shapes-small@sigma>2.\n' +
    'log.jsonl records each loss term per step (data, output, feature, semantic); incubation phases log under DIR/incubate/<stage>/.',
  async run(values, _positionals, given) {
    const { out } = values;
    let settings: CompressSettings;
    if (values.resume) {
      refuseResumeOptions(out, given, [], 'compress.json');
      settings = readCompressSettings(out);
    } else {
      if (values.teacher === undefined) throw new UsageError('--teacher NAME|PATH is required');
      if ((values.remove === undefined) === (values.preset === undefined)) throw new UsageError('give exactly one of --remove P,P,... and --preset NAME');
      const teacher = await loadTrainedModel(values.teacher);
      settings = {
        teacher: teacher.location,
        remove: values.preset === undefined ? values.remove! : presetRemovals(values.preset, requireUNet(teacher.model, `the teacher '${teacher.name}'`)),
        init: values['student-init'],
        ...(values['cond-conv'] !== undefined && { condConv: { layers: [...values['cond-conv']], experts: values.experts, init: values['expert-init'] } }),
        schedule: values.schedule,
        incubateShare: values['incubate-share'],
        weights: { data: values['data-weight'], output: values['output-weight'], feature: values['feature-weight'], semantic: values['semantic-weight'] },
        ...(values.features !== undefined && { features: values.features }),
        training: {
          ...training,
          steps: values.steps,
          batch: values.batch,
          lr: values.lr,
          warmup: values.warmup,
          lrDecay: values['lr-decay'],
          emaHalfLifeImages: values['ema-half-life'],
          checkpointEvery: values['checkpoint-every'],
          seed: values.seed,
        },
      };
    }
    const teacher = await loadTrainedModel(settings.teacher);
    let progress: Progress | undefined;
    const result = await stoppable('compress: stopping after this step and saving a checkpoint', (shouldStop) => compress(teacher, settings, out, {
      resume: values.resume,
      overwrite: values.overwrite,
      callbacks: {
        shouldStop,
        onPhase: (phase, index, total) => {
          progress?.finish();
          if (values.json) return;
          process.stderr.write(`compress: phase ${index + 1}/${total}, ${phase.name} (${plural(phase.steps, 'step')}) in ${phase.dir}\n`);
          progress = new Progress({ label: phase.name, total: phase.steps, unit: 'it' });
        },
        onLog: (entry) => progress?.update(entry.step!, Object.fromEntries(Object.entries(entry).filter(([key]) => ['loss', 'data', 'output', 'feature', 'semantic'].includes(key)))),
      },
    }));
    progress?.finish();
    const teacherGflops = moduleFlops(teacher.model).total / 1e9;
    const studentGflops = moduleFlops(result.student).total / 1e9;
    const summary = { out, stopped: result.stopped, phases: result.phases.map((p) => ({ name: p.name, step: p.step, loss: p.lastLoss })), params: result.student.paramCount(), teacher_params: teacher.model.paramCount(), gflops: studentGflops, teacher_gflops: teacherGflops };
    if (values.json) console.log(JSON.stringify(summary));
    else console.log(`${result.stopped ? 'stopped (continue with --resume)' : 'finished'}; student in ${checkpointDir(out)}: ${summary.params} parameters (teacher ${summary.teacher_params}), ${studentGflops.toFixed(3)} GFLOPs per image (teacher ${teacherGflops.toFixed(3)}, ${(teacherGflops / studentGflops).toFixed(2)}x fewer)`);
  },
});
