// `hasten train-features`: trains the evaluation feature network of a labelled image dataset (the
// classifier in whose feature space FD and KID are measured) and saves it as a checkpoint directory.

import { type Command, parseNumber, UsageError } from '../command.js';
import { Progress } from '../progress.js';
import { DatasetError } from '../../data/dataset.js';
import { FEATURE_TRAINING_DEFAULTS, saveFeatureNet, trainFeatureNet } from '../../eval/feature-net.js';

export const trainFeaturesCommand: Command = {
  path: ['train-features'],
  summary: 'train the evaluation feature network (FD/KID features, class accuracy) of an image dataset',
  options: {
    data: { type: 'string', placeholder: 'NAME', description: 'labelled image dataset, e.g. shapes' },
    out: { type: 'string', placeholder: 'DIR', description: 'directory for checkpoint.safetensors and checkpoint.json' },
    steps: { type: 'string', placeholder: 'N', description: 'optimizer steps', default: String(FEATURE_TRAINING_DEFAULTS.steps) },
    batch: { type: 'string', placeholder: 'B', description: 'images per step', default: String(FEATURE_TRAINING_DEFAULTS.batch) },
    seed: { type: 'string', placeholder: 'S', description: 'seed of initialisation, data and augmentation', default: String(FEATURE_TRAINING_DEFAULTS.seed) },
    lr: { type: 'string', placeholder: 'LR', description: 'peak learning rate (warm-up, then cosine decay)', default: String(FEATURE_TRAINING_DEFAULTS.lr) },
    resolution: { type: 'string', placeholder: 'R', description: 'image side in pixels (default: the dataset\'s, 32 for shapes)' },
    json: { type: 'boolean', description: 'print one JSON object with the figures' },
  },
  details: 'The shipped network models/features-shapes was made with: hasten train-features --data shapes --out models/features-shapes (docs/models.md).',
  async run(values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (typeof values.data !== 'string') throw new UsageError('--data is required, e.g. --data shapes');
    if (typeof values.out !== 'string') throw new UsageError('--out DIR is required');
    const steps = parseNumber('steps', values.steps, { integer: true, min: 1 })!;
    const batch = parseNumber('batch', values.batch, { integer: true, min: 1 })!;
    const seed = parseNumber('seed', values.seed, { integer: true, min: 0 })!;
    const lr = parseNumber('lr', values.lr, { min: 0 })!;
    const resolution = parseNumber('resolution', values.resolution, { integer: true, min: 1 });
    const progress = new Progress({ label: 'train-features', total: steps, unit: 'it' });
    let trained;
    try {
      trained = await trainFeatureNet(values.data, {
        steps, batch, seed, lr, resolution,
        onStep: (step, { loss, accuracy }) => progress.update(step, { loss, acc: accuracy }),
      });
    } catch (error) {
      if (error instanceof DatasetError) throw new UsageError(error.message);
      throw error;
    } finally {
      progress.finish();
    }
    const { net, record } = trained;
    await saveFeatureNet(values.out, net, record);
    await net.dispose();
    const figures = { out: values.out, data: net.config.data, steps, batch, seconds: record.seconds, accuracy: record.accuracy, accuracy_is_held_out: record.accuracyIsHeldOut, samples: record.heldOut };
    if (values.json) {
      console.log(JSON.stringify(figures, null, 2));
      return;
    }
    const which = record.accuracyIsHeldOut ? 'held-out' : 'training-set';
    console.log(`trained in ${record.seconds.toFixed(0)} s; ${which} accuracy ${(100 * record.accuracy).toFixed(2)}% on ${record.heldOut} images; saved to ${values.out}`);
  },
};
