// `hasten gmem train-encoder`: trains the self-supervised encoder a memory bank is built with (no
// labels), resumable, then saves its inference weights to OUT/encoder and reports its linear-probe
// accuracy when the dataset has classes.

import { join } from 'node:path';
import { type Command, parseNumber, UsageError } from '../command.js';
import { Progress } from '../progress.js';
import { DatasetError } from '../../data/dataset.js';
import { openDataset } from '../../data/registry.js';
import { ENCODER_TRAINING_DEFAULTS, saveEncoder, trainEncoder } from '../../gmem/encoder.js';
import { probeEncoder } from '../../gmem/linear-probe.js';

export const gmemTrainEncoderCommand: Command = {
  path: ['gmem', 'train-encoder'],
  summary: 'train the self-supervised snippet encoder of a memory bank (contrastive, no labels)',
  options: {
    data: { type: 'string', placeholder: 'NAME', description: 'image dataset, e.g. shapes or folder:PATH (labels are never read)' },
    out: { type: 'string', placeholder: 'DIR', description: 'run directory: checkpoint/ (resumable), log.jsonl, encoder/ (the weights to ship)' },
    steps: { type: 'string', placeholder: 'N', description: `optimizer steps in all (default ${ENCODER_TRAINING_DEFAULTS.steps}); with --resume, a new total: higher trains on, lower (not below the step reached) ends the cosine decay sooner` },
    batch: { type: 'string', placeholder: 'B', description: 'images per step, two views each', default: String(ENCODER_TRAINING_DEFAULTS.batch) },
    seed: { type: 'string', placeholder: 'S', description: 'seed of initialisation, data and views', default: String(ENCODER_TRAINING_DEFAULTS.seed) },
    lr: { type: 'string', placeholder: 'LR', description: 'peak learning rate (warm-up, then cosine decay)', default: String(ENCODER_TRAINING_DEFAULTS.lr) },
    temperature: { type: 'string', placeholder: 'T', description: 'contrastive temperature', default: String(ENCODER_TRAINING_DEFAULTS.temperature) },
    resolution: { type: 'string', placeholder: 'R', description: "image side in pixels (default: the dataset's)" },
    resume: { type: 'boolean', description: "continue DIR's checkpoint with its saved settings (--steps may raise the total)" },
    json: { type: 'boolean', description: 'print one JSON object with the figures' },
  },
  details: 'Ctrl-C saves a checkpoint; --resume continues exactly. The shipped models/encoder-shapes: see docs/models.md.',
  async run(values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (typeof values.out !== 'string') throw new UsageError('--out DIR is required');
    if (!values.resume && typeof values.data !== 'string') throw new UsageError('--data is required, e.g. --data shapes');
    const steps = parseNumber('steps', values.steps, { integer: true, min: 1 });
    const settings = {
      ...(steps !== undefined && { steps }),
      batch: parseNumber('batch', values.batch, { integer: true, min: 1 })!,
      seed: parseNumber('seed', values.seed, { integer: true, min: 0 })!,
      lr: parseNumber('lr', values.lr, { min: 0 })!,
      temperature: parseNumber('temperature', values.temperature, { min: 0 })!,
    };
    let interrupted = false;
    const onSignal = (): void => {
      if (interrupted) process.exit(130);
      interrupted = true;
      process.stderr.write('\ngmem train-encoder: stopping after this step and saving a checkpoint (Ctrl-C again to quit now)\n');
    };
    process.on('SIGINT', onSignal);
    let progress: Progress | undefined;
    let result;
    try {
      result = await trainEncoder({
        data: String(values.data ?? ''), out: values.out, resume: Boolean(values.resume), settings,
        resolution: parseNumber('resolution', values.resolution, { integer: true, min: 1 }),
        onStep: (step, { loss, accuracy }) => {
          progress ??= new Progress({ label: 'train-encoder', total: steps ?? ENCODER_TRAINING_DEFAULTS.steps, unit: 'it' }, step - 1);
          progress.update(step, { loss, acc: accuracy });
        },
        shouldStop: () => interrupted,
      });
    } catch (error) {
      if (error instanceof DatasetError) throw new UsageError(error.message);
      throw error;
    } finally {
      progress?.finish();
      process.off('SIGINT', onSignal);
    }
    const { encoder, step, stopped, record } = result;
    const figures: Record<string, unknown> = { out: values.out, step, steps: record.steps, stopped, snippet_dim: encoder.snippetDim };
    if (!stopped && step >= record.steps) {
      const dataset = openDataset(encoder.config.data, { resolution: record.resolution });
      const probe = dataset.numClasses ? await probeEncoder(encoder, dataset) : undefined;
      await saveEncoder(join(values.out, 'encoder'), encoder, { ...record, probe: probe ?? null });
      Object.assign(figures, { encoder: join(values.out, 'encoder'), probe_accuracy: probe?.testAccuracy ?? null, probe_train_accuracy: probe?.trainAccuracy ?? null });
    }
    await encoder.dispose();
    if (values.json) console.log(JSON.stringify(figures, null, 2));
    else if (figures.encoder) console.log(`step ${step}: encoder (snippets of ${encoder.snippetDim}) saved to ${String(figures.encoder)}${figures.probe_accuracy !== null ? `; linear-probe accuracy ${(100 * Number(figures.probe_accuracy)).toFixed(2)}%` : ''}`);
    else console.log(`stopped at step ${step}/${record.steps}; resume with --resume --out ${values.out}`);
  },
};
