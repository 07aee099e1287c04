// `hasten train-features`: trains the evaluation feature network of a labelled image dataset (the
// classifier in whose feature space FD and KID are measured) and saves it as a checkpoint directory.

import { defineCommand } from '../command.js';
import { flag, int, json, num, text } from '../options.js';
import { Progress } from '../progress.js';
import { FEATURE_TRAINING_DEFAULTS, claimFeatureNetFolder, saveFeatureNet, trainFeatureNet } from '../../eval/feature-net.js';

export const trainFeaturesCommand = defineCommand({
  path: ['train-features'],
  summary: 'train the evaluation feature network (FD/KID features, class accuracy) of an image dataset',
  options: {
    data: text({ placeholder: 'NAME', required: true, description: 'labelled image dataset, e.g. shapes' }),
    out: text({ placeholder: 'DIR', required: true, description: 'directory for checkpoint.safetensors and checkpoint.json' }),
    steps: int({ placeholder: 'N', min: 1, default: FEATURE_TRAINING_DEFAULTS.steps, description: 'optimizer steps' }),
    batch: int({ placeholder: 'B', min: 1, default: FEATURE_TRAINING_DEFAULTS.batch, description: 'images per step' }),
    seed: int({ placeholder: 'S', min: 0, default: FEATURE_TRAINING_DEFAULTS.seed, description: 'seed of initialisation, data and augmentation' }),
    lr: num({ placeholder: 'LR', min: 0, default: FEATURE_TRAINING_DEFAULTS.lr, description: 'peak learning rate (warm-up, then cosine decay)' }),
    resolution: int({ placeholder: 'R', min: 1, description: "image side in pixels (default: the dataset's, 32 for shapes)" }),
    overwrite: flag({ description: 'replace the feature network DIR holds' }),
    json: json(),
  },
  details: 'The shipped network models/features-shapes was made with: hasten train-features --data shapes --out models/features-shapes (docs/models.md).',
  async run(values) {
    const { steps, batch, seed, lr, resolution } = values;
    claimFeatureNetFolder(values.out, { overwrite: values.overwrite });
    const progress = new Progress({ label: 'train-features', total: steps, unit: 'it' });
    let trained;
    try {
      trained = await trainFeatureNet(values.data, {
        steps, batch, seed, lr, resolution,
        onStep: (step, { loss, accuracy }) => progress.update(step, { loss, acc: accuracy }),
      });
    } finally {
      progress.finish();
    }
    const { net, record } = trained;
    await saveFeatureNet(values.out, net, record, { overwrite: values.overwrite });
    await net.dispose();
    const figures = { out: values.out, data: net.config.data, steps, batch, seconds: record.seconds, accuracy: record.accuracy, accuracy_is_held_out: record.accuracyIsHeldOut, samples: record.heldOut };
    if (values.json) {
      console.log(JSON.stringify(figures, null, 2));
      return;
    }
    const which = record.accuracyIsHeldOut ? 'held-out' : 'training-set';
    console.log(`trained in ${record.seconds.toFixed(0)} s; ${which} accuracy ${(100 * record.accuracy).toFixed(2)}% on ${record.heldOut} images; saved to ${values.out}`);
  },
});
