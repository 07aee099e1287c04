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
    deepcache: text({ placeholder: 'SETTINGS', description: "also time hasten with DeepCache (as --deepcache takes it, e.g. 'every=3,branch=0') in every round: its speedup against its FLOP speedup, end to end and per call" }),
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
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    console.log(`${result.model}, DDIM ${plural(result.steps, 'step')}, ${plural(result.n, 'sample')}, ${plural(result.repeats, 'interleaved round')} (load ${result.machine.load_average.map((l) => l.toFixed(1)).join(' -> ')}):`);
    console.log(`  hasten ${result.hasten_s.wall.toFixed(3)} s, onnxruntime-node directly ${result.direct_s.wall.toFixed(3)} s (medians); hasten's overhead paired within rounds: ${pct(result.paired_overhead.wall)} wall, ${pct(result.paired_overhead.cpu)} CPU time`);
    console.log(`  largest difference between the two loops' samples: ${result.max_abs_difference.toExponential(2)} (largest |sample| ${result.max_abs_sample.toPrecision(3)})`);
    const dc = result.deepcache;
    if (dc) {
      console.log(`  DeepCache ${dc.config}: ${dc.speedup.wall.toFixed(2)}x wall, ${dc.speedup.cpu.toFixed(2)}x CPU time (medians of per-round ratios) for ${dc.flop_speedup.toFixed(2)}x fewer FLOPs: ${pct(dc.realised.wall)} realised (CPU ${pct(dc.realised.cpu)})`);
      console.log(`  per call: full ${dc.calls.full_call_ms.wall.toFixed(1)} ms, reuse ${dc.calls.reuse_call_ms!.wall.toFixed(1)} ms: ${dc.call_speedup.wall.toFixed(2)}x (CPU ${dc.call_speedup.cpu.toFixed(2)}x) for ${dc.call_flop_speedup.toFixed(2)}x FLOPs; calls alone predict ${dc.predicted_speedup.toFixed(2)}x; outside calls ${pct(dc.calls.outside_calls)} of a DeepCache run, ${pct(dc.plain_calls.outside_calls)} of a plain one`);
    }
  },
});
