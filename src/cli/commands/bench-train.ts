// `hasten bench train`: training throughput of a model configuration against the roofline.

import { defineCommand } from '../command.js';
import { flag, int, json, text } from '../options.js';
import { modelName } from '../sampling.js';
import { THIS_BUILD, type StepSubject, stepPeakMemoryMb, timeSideBySide } from '../../bench/side-by-side.js';
import { measureTrainThroughput } from '../../bench/train-throughput.js';
import { createModel } from '../../models/registry.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { objectiveSettings } from '../../train/objectives.js';

export const benchTrainCommand = defineCommand({
  path: ['bench', 'train'],
  summary: "measure a model's training throughput (images/s, fraction of the roofline)",
  options: {
    model: modelName('model', { default: 'shapes', description: 'the model whose configuration to time' }),
    batch: int({ placeholder: 'B', min: 1, description: 'training batch size (default: the one it was trained with)' }),
    repeats: int({ placeholder: 'N', min: 1, default: 7, description: 'timed steps; the median is reported' }),
    baseline: text({ placeholder: 'DIR', description: 'another built hasten checkout: time its step of the same model interleaved with this one and compare' }),
    'reference-workload': flag({ description: 'with --baseline: time the reference workload of `bench engine` instead of --model' }),
    memory: flag({ description: 'with --baseline: also the peak RSS of each step, each in a process of its own' }),
    json: json(),
  },
  details: 'With --baseline, both builds train from the same data and initialisation, one step each in turn; the report gives median wall and CPU time per step of each and their ratio.',
  async run(values) {
    if (values.baseline !== undefined) {
      const subject: StepSubject = values['reference-workload'] ? { workload: 'engine' } : { model: values.model, batch: values.batch };
      const sides = await timeSideBySide([values.baseline, THIS_BUILD], subject, { warmup: 2, repeats: values.repeats });
      if (values.memory) for (const side of sides) side.peak_rss_mb = stepPeakMemoryMb(side.build, subject);
      const [before, after] = sides as [typeof sides[0], typeof sides[0]];
      const report = { subject, baseline: before, this_build: after, speedup: before.step_ms / after.step_ms, cpu_ratio: before.step_cpu_ms / after.step_cpu_ms };
      if (values.json) console.log(JSON.stringify(report));
      else {
        for (const [label, side] of [['baseline', before], ['this build', after]] as const) {
          console.log(`${label.padEnd(11)} ${side.step_ms.toFixed(1)} ms per step (CPU ${side.step_cpu_ms.toFixed(1)} ms), ${side.images_per_second.toFixed(2)} images/s, first loss ${side.first_loss.toPrecision(6)}${side.peak_rss_mb === undefined ? '' : `, peak RSS ${side.peak_rss_mb.toFixed(0)} MB`}`);
        }
        console.log(`speedup    ${report.speedup.toFixed(3)}x wall, ${report.cpu_ratio.toFixed(3)}x CPU`);
      }
      return;
    }
    const trained = await loadTrainedModel(values.model);
    const batch = values.batch ?? trained.config.batch;
    const { repeats } = values;
    const result = await measureTrainThroughput(createModel(trained.config.model), { spec: trained.config.data, resolution: trained.config.resolution }, objectiveSettings(trained.config.objective.name, trained.config.objective), batch, { warmup: 2, repeats });
    if (values.json) console.log(JSON.stringify({ model: trained.name, data: trained.config.data, ...result }));
    else for (const [key, value] of Object.entries(result)) console.log(`${key.padEnd(24)} ${typeof value === 'number' ? value.toPrecision(4) : value}`);
  },
});
