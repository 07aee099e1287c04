// `hasten bench import`: an imported model sampled through hasten against the same DDIM loop written
// directly on onnxruntime-node, interleaved; medians and the largest difference between their samples.

import { UsageError, defineCommand } from '../command.js';
import { int, json, text } from '../options.js';
import { plural } from '../plural.js';
import { conditioningOptions, modelName } from '../sampling.js';
import { runImportOverheadBench } from '../../bench/import-overhead.js';
import { openImportedModel } from '../../import/model-folder.js';
import { readConditioningFile } from '../../import/target.js';

export const benchImportCommand = defineCommand({
  path: ['bench', 'import'],
  summary: "an imported model's sampling speed through hasten against running its ONNX file directly",
  options: {
    model: modelName('model', { required: true, description: 'the imported model' }, 'imported'),
    ...conditioningOptions,
    steps: int({ placeholder: 'N', min: 1, default: 20, description: 'DDIM steps of both loops' }),
    n: int({ placeholder: 'N', min: 1, default: 8, description: 'samples, one batch' }),
    repeats: int({ placeholder: 'N', min: 1, default: 7, description: 'timed runs of each loop, interleaved; medians are reported' }),
    seed: int({ placeholder: 'S', min: 0, default: 0, description: 'noise seed, the same for both loops' }),
    json: json('print { hasten_s, direct_s, overhead, max_abs_difference, ... } as JSON'),
  },
  async run(values) {
    const imported = openImportedModel(values.model);
    const name = imported.record.signature.conditioning?.name ?? 'encoder_hidden_states';
    const cond = values['cond-file'] === undefined ? undefined : await readConditioningFile(values['cond-file'], name, '--cond-file');
    if (values['uncond-file'] !== undefined) throw new UsageError('bench import runs the conditional model alone; drop --uncond-file');
    const result = await runImportOverheadBench(imported, values, { cond }, (message) => process.stderr.write(`bench import: ${message}\n`));
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    console.log(`${result.model}, DDIM ${plural(result.steps, 'step')}, ${plural(result.n, 'sample')}: hasten ${result.hasten_s.toFixed(3)} s, onnxruntime-node directly ${result.direct_s.toFixed(3)} s (medians of ${result.repeats} interleaved runs): hasten ${(100 * result.overhead).toFixed(1)}% ${result.overhead >= 0 ? 'slower' : 'faster'} (paired within rounds: ${(100 * result.paired_overhead).toFixed(1)}%)`);
    console.log(`largest difference between the two loops' samples: ${result.max_abs_difference.toExponential(2)} (largest |sample| ${result.max_abs_sample.toPrecision(3)})`);
  },
});
