// `hasten gmem train-encoder`: trains the self-supervised encoder a memory bank is built with (no
// labels), resumable, then saves its inference weights to OUT/encoder and reports its linear-probe
// accuracy when the dataset has classes.

import { join } from 'node:path';
import { defineCommand } from '../command.js';
import { flag, int, json, num, text, UsageError } from '../options.js';
import { Progress } from '../progress.js';
import { stoppable } from '../stoppable.js';
import { openDataset } from '../../data/registry.js';
import { ENCODER_TRAINING_DEFAULTS, saveEncoder, trainEncoder } from '../../gmem/encoder.js';
import { probeEncoder } from '../../gmem/linear-probe.js';
import { refuseResumeOptions } from '../training.js';

export const gmemTrainEncoderCommand = defineCommand({
  path: ['gmem', 'train-encoder'],
  summary: 'train the self-supervised snippet encoder of a memory bank (contrastive, no labels)',
  options: {
    data: text({ placeholder: 'NAME', description: 'image dataset, e.g. shapes or folder:PATH; labels are never read (required unless --resume)' }),
    out: text({ placeholder: 'DIR', required: true, description: 'run directory: checkpoint/ (resumable), log.jsonl, encoder/ (the weights to ship)' }),
    steps: int({ placeholder: 'N', min: 1, description: `optimizer steps in all (default ${ENCODER_TRAINING_DEFAULTS.steps}); with --resume a new total: higher trains on, lower (not below the step reached) ends the cosine decay sooner` }),
    batch: int({ placeholder: 'B', min: 2, default: ENCODER_TRAINING_DEFAULTS.batch, description: 'images per step, two views each' }),
    seed: int({ placeholder: 'S', min: 0, default: ENCODER_TRAINING_DEFAULTS.seed, description: 'seed of initialisation, data and views' }),
    lr: num({ placeholder: 'LR', min: 0, default: ENCODER_TRAINING_DEFAULTS.lr, description: 'peak learning rate (warm-up, then cosine decay)' }),
    temperature: num({ placeholder: 'T', above: 0, default: ENCODER_TRAINING_DEFAULTS.temperature, description: 'contrastive temperature' }),
    resolution: int({ placeholder: 'R', min: 8, description: "image side in pixels (default: the dataset's)" }),
    resume: flag({ description: "continue DIR's checkpoint with its saved settings (only --steps may be given with it)" }),
    overwrite: flag({ description: 'replace the run DIR holds with a new one' }),
    json: json(),
  },
  details: 'Ctrl-C saves a checkpoint; --resume continues exactly. The shipped models/encoder-shapes: docs/models.md.',
  async run(values, _positionals, given) {
    if (values.resume) refuseResumeOptions(values.out, given, ['steps'], 'checkpoint');
    if (!values.resume && values.data === undefined) throw new UsageError('--data NAME is required, e.g. --data shapes');
    const { steps, batch, seed, lr, temperature } = values;
    let progress: Progress | undefined;
    const result = await stoppable('gmem train-encoder: stopping after this step and saving a checkpoint', async (shouldStop) => {
      try {
        return await trainEncoder({
          data: values.data ?? '', out: values.out, resume: values.resume, overwrite: values.overwrite, resolution: values.resolution,
          settings: { batch, seed, lr, temperature, ...(steps !== undefined && { steps }) },
          onStep: (step, { loss, accuracy }, total) => {
            if (values.json) return;
            progress ??= new Progress({ label: 'train-encoder', total, unit: 'it' }, step - 1);
            progress.update(step, { loss, acc: accuracy });
          },
          shouldStop,
        });
      } finally {
        progress?.finish();
      }
    });
    const { encoder, step, stopped, record } = result;
    const figures: Record<string, unknown> = { out: values.out, step, steps: record.steps, stopped, snippet_dim: encoder.snippetDim };
    if (!stopped) {
      const dataset = openDataset(encoder.config.data, { resolution: record.resolution });
      const probe = dataset.numClasses ? await probeEncoder(encoder, dataset) : undefined;
      await saveEncoder(join(values.out, 'encoder'), encoder, { ...record, probe: probe ?? null });
      Object.assign(figures, { encoder: join(values.out, 'encoder'), probe_accuracy: probe?.testAccuracy ?? null, probe_train_accuracy: probe?.trainAccuracy ?? null });
    }
    await encoder.dispose();
    if (values.json) console.log(JSON.stringify(figures, null, 2));
    else if (stopped) console.log(`stopped at step ${step}/${record.steps}; continue with: hasten gmem train-encoder --resume --out ${values.out}`);
    else console.log(`step ${step}: encoder (snippets of ${encoder.snippetDim}) saved to ${String(figures.encoder)}${figures.probe_accuracy !== null ? `; linear-probe accuracy ${(100 * Number(figures.probe_accuracy)).toFixed(2)}%` : ''}`);
  },
});
