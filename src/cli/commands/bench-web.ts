// `hasten bench web`: the browser (Chromium, onnxruntime-web) against Node (onnxruntime-node) on the
// same jobs in one run, interleaved. Results: docs/results/web.md.

import { defineCommand } from '../command.js';
import { int, json } from '../options.js';
import { plural } from '../plural.js';
import { median } from '../../bench/timing.js';
import { WEB_BENCH_DEFAULTS, runWebBench } from '../../web/bench.js';

export const benchWebCommand = defineCommand({
  path: ['bench', 'web'],
  summary: 'time the browser app against Node: 16 shapes images at 10 NFE, toy2d training, page load and size',
  options: {
    repeats: int({ placeholder: 'N', min: 1, default: WEB_BENCH_DEFAULTS.repeats, description: 'interleaved rounds (Node, browser); medians are reported' }),
    n: int({ placeholder: 'N', min: 1, max: 64, default: WEB_BENCH_DEFAULTS.n, description: 'images sampled per run' }),
    'train-steps': int({ placeholder: 'N', min: 2, default: WEB_BENCH_DEFAULTS.trainSteps, description: 'toy2d training steps timed per round' }),
    json: json(),
  },
  details: 'Needs Chromium at /usr/bin/chromium (Debian package chromium) or HASTEN_CHROMIUM.',
  async run(values) {
    const result = await runWebBench({ repeats: values.repeats, n: values.n, trainSteps: values['train-steps'] }, (message) => process.stderr.write(`bench web: ${message}\n`));
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const list = (xs: number[], digits = 2): string => xs.map((x) => x.toFixed(digits)).join(', ');
    console.log(`Node:    ${result.node_runtime}\nbrowser: ${result.browser} · ${result.browser_runtime}`);
    console.log(`sampling ${plural(result.settings.n, 'image')}, ${result.settings.sampler} ${plural(result.settings.steps, 'step')}: Node ${list(result.sample.node_s)} s, browser ${list(result.sample.browser_s)} s; browser/Node median ${result.sample.median_ratio.toFixed(2)}x; max |difference| ${result.sample.max_abs_difference.toExponential(1)}`);
    console.log(`  browser inside onnxruntime-web's calls ${list(result.sample.browser_calls_s)} s; on one thread ${list(result.sample.browser_one_thread_s)} s; Node CPU time ${list(result.sample.node_cpu_s)} s`);
    console.log(`toy2d training: Node ${list(result.train.node_steps_per_s, 1)} steps/s, browser ${list(result.train.browser_steps_per_s, 1)} steps/s; Node/browser median ${result.train.median_ratio.toFixed(2)}x`);
    console.log(`page: ready in ${list(result.page.ready_s)} s (median ${median(result.page.ready_s).toFixed(2)}), ${(result.page.download_bytes / 1e6).toFixed(1)} MB in ${result.page.files} files`);
    for (const p of result.page.phases) console.log(`  runtime started by ${p.runtime_start_end_s.toFixed(2)} s, model downloaded by ${p.download_end_s.toFixed(2)} s, compiled in ${p.compile_s.toFixed(2)} s (sessions ${p.sessions_s.toFixed(2)} s), then the first call ${p.first_call_s.toFixed(2)} s`);
  },
});
