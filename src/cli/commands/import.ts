// `hasten import`: turns a U-Net exported to ONNX elsewhere (diffusers, optimum, torch.onnx) into a
// model folder that sample, bench accel and inspect take, with every sampler and, where the U-Net's
// structure is found, Skip-Tuning, DeepCache and encoder propagation by graph surgery.

import { defineCommand } from '../command.js';
import { choice, int, json, text } from '../options.js';
import { InputError } from '../../engine/input-error.js';
import { importModel } from '../../import/model-folder.js';
import { describeImport } from './inspect.js';

function parseSampleSize(raw: string): [number, number] {
  const parts = raw.toLowerCase().split('x').map(Number);
  const [height, width = height] = parts;
  if (parts.length > 2 || !Number.isInteger(height) || !Number.isInteger(width) || height! < 1 || width! < 1) throw new InputError(`expected H or HxW (e.g. 64x64), got '${raw}'`);
  return [height!, width!];
}

export const importCommand = defineCommand({
  path: ['import'],
  summary: 'import a diffusion U-Net exported to ONNX (e.g. from diffusers) as a hasten model folder',
  options: {
    onnx: text({ placeholder: 'FILE', required: true, description: 'the ONNX file; external data files are read from beside it' }),
    scheduler: text({ placeholder: 'FILE', description: "a diffusers scheduler_config.json: betas, num_train_timesteps, prediction_type (default: DDPM's linear 1e-4..0.02 over 1000 steps, epsilon)" }),
    prediction: choice(['epsilon', 'v', 'v_prediction', 'sample'], { placeholder: 'KIND', description: "what the network predicts, overriding the scheduler config's prediction_type" }),
    'sample-size': text({ placeholder: 'HxW', parse: parseSampleSize, description: 'height and width where the graph leaves them symbolic' }),
    classes: int({ placeholder: 'N', min: 1, description: "for a graph with a class_labels input: the labels it takes, 0..N-1 (default: num_class_embeds of the diffusers config.json beside the file)" }),
    'null-class': int({ placeholder: 'K', min: 0, description: "the label the model was trained with for \"no class\", which --guidance pushes away from (default: the config's null_class, as hasten export writes it; without one, guidance is refused)" }),
    out: text({ placeholder: 'DIR', required: true, description: 'the model folder to write' }),
    json: json('print the import record (signature, schedule, structure, FLOPs) as JSON'),
  },
  details: 'Then: hasten sample --model DIR [--cond-file FILE.safetensors] [--deepcache every=3] ...; hasten inspect --model DIR. Walkthrough: docs/import.md.',
  async run(values) {
    const record = await importModel({ onnx: values.onnx, out: values.out, scheduler: values.scheduler, prediction: values.prediction, sampleSize: values['sample-size'], classes: values.classes, nullClass: values['null-class'] });
    if (values.json) {
      console.log(JSON.stringify(record, null, 2));
      return;
    }
    console.log(`imported ${values.onnx} into ${values.out}`);
    console.log(describeImport(record));
  },
});
