// The options and resume rules the training commands share (train, reflow train, compress, gmem
// train-encoder): the learning-rate schedule, and what may change when a run is resumed.

import { LR_DECAYS, TRAIN_DEFAULTS, type TrainConfig, resumedTrainConfig } from '../train/trainer.js';
import { type OptionValues, choice, flag, int, json, num, text, UsageError } from './options.js';

/** Options that resuming may change, and the setting each sets. */
const RESUMABLE_OPTIONS: Record<string, keyof TrainConfig> = { steps: 'steps', 'checkpoint-every': 'checkpointEvery' };
/** Options that only say how to run the command. */
const COMMAND_OPTIONS = new Set(['out', 'resume', 'json']);

/**
 * What --resume continues: DIR's saved settings, with --steps and --checkpoint-every when given
 * (without --steps, the saved target). Any other option given must agree with the saved run:
 * `settings` maps the options that are plain settings of the run to their field; the rest cannot
 * be given with --resume. Every disagreement is named in one error.
 */
export async function resumedConfig<C extends TrainConfig>(out: string, values: Record<string, unknown>, given: ReadonlySet<string>, settings: Record<string, string>): Promise<C> {
  const saved = await resumedTrainConfig<C>(out);
  const savedSettings = saved as unknown as Record<string, unknown>;
  const differing: string[] = [];
  const fixed: string[] = [];
  for (const option of given) {
    if (COMMAND_OPTIONS.has(option) || option in RESUMABLE_OPTIONS) continue;
    const field = settings[option];
    if (field === undefined) fixed.push(`--${option}`);
    else if (JSON.stringify(values[option]) !== JSON.stringify(savedSettings[field])) differing.push(`--${option} ${String(values[option])} (saved ${String(savedSettings[field])})`);
  }
  if (differing.length > 0 || fixed.length > 0) {
    const problems = [
      ...(differing.length > 0 ? [`${differing.join(', ')} differ${differing.length === 1 ? 's' : ''} from the saved run`] : []),
      ...(fixed.length > 0 ? [`${fixed.join(', ')} cannot change in a resumed run`] : []),
    ];
    throw new UsageError(`${out}: ${problems.join('; ')}. With --resume only --steps and --checkpoint-every may change; start a new run (another --out, or --overwrite) to change the others`);
  }
  const changes = Object.fromEntries(Object.entries(RESUMABLE_OPTIONS).filter(([option]) => given.has(option)).map(([option, field]) => [field, values[option]]));
  return { ...saved, ...changes };
}

/**
 * For runs resumed from a settings file (compress, gmem train-encoder): every option given with
 * --resume other than `mayChange` and the command options is an error naming each, never ignored.
 */
export function refuseResumeOptions(out: string, given: ReadonlySet<string>, mayChange: readonly string[], savedIn: string): void {
  const fixed = [...given].filter((option) => !COMMAND_OPTIONS.has(option) && option !== 'overwrite' && !mayChange.includes(option));
  if (fixed.length === 0) return;
  const changeable = mayChange.length > 0 ? ` (only ${mayChange.map((o) => `--${o}`).join(', ')} may change)` : '';
  throw new UsageError(`${out}: ${fixed.map((o) => `--${o}`).join(', ')} cannot be given with --resume: the run continues with the settings in its ${savedIn}${changeable}; start a new run (another --out, or --overwrite) to change them`);
}

/** The schedule options as the TrainConfig fields they set. */
export const SCHEDULE_SETTINGS = { steps: 'steps', batch: 'batch', lr: 'lr', warmup: 'warmup', 'lr-decay': 'lrDecay', 'ema-half-life': 'emaHalfLifeImages', 'checkpoint-every': 'checkpointEvery' } as const;

type ScheduleFields = (typeof SCHEDULE_SETTINGS)[keyof typeof SCHEDULE_SETTINGS];

/** The schedule options train, reflow train and compress share, with the defaults of the command's trainer. */
export function scheduleOptions(defaults: Pick<TrainConfig, ScheduleFields> = TRAIN_DEFAULTS) {
  return {
    steps: int({ placeholder: 'N', min: 1, default: defaults.steps, description: 'optimizer steps' }),
    batch: int({ placeholder: 'B', min: 1, default: defaults.batch, description: 'samples per step' }),
    lr: num({ placeholder: 'LR', min: 0, default: defaults.lr, description: 'peak learning rate' }),
    warmup: int({ placeholder: 'N', min: 0, default: defaults.warmup, description: 'learning-rate warm-up steps' }),
    'lr-decay': choice(LR_DECAYS, { placeholder: 'KIND', default: defaults.lrDecay, description: 'after warm-up' }),
    'ema-half-life': num({ placeholder: 'IMAGES', min: 0, default: defaults.emaHalfLifeImages, description: 'EMA half-life in training samples' }),
    'checkpoint-every': int({ placeholder: 'N', min: 1, default: defaults.checkpointEvery, description: 'steps between checkpoints' }),
    out: text({ placeholder: 'DIR', required: true, description: 'output directory (checkpoint/, log.jsonl)' }),
    resume: flag({ description: "continue DIR's run with its saved settings (to its saved target unless --steps is given)" }),
    overwrite: flag({ description: 'replace the run DIR holds (its checkpoint and log) with a new one' }),
    json: json('print a JSON summary at the end'),
  };
}

/** The schedule values as TrainConfig fields. */
export function scheduleSettings(values: OptionValues<ReturnType<typeof scheduleOptions>>): Pick<TrainConfig, ScheduleFields> {
  return Object.fromEntries(Object.entries(SCHEDULE_SETTINGS).map(([option, field]) => [field, values[option as keyof typeof SCHEDULE_SETTINGS]])) as Pick<TrainConfig, ScheduleFields>;
}
