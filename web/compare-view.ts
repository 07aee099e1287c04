// The Compare view: two configurations on the same model, seeds and noise, run one after the
// other; their grids side by side with times, evaluations, the speedup and a difference heat map.

import { ProgressBar, addFields, byId, setOptions, values } from './dom.js';
import { differenceMap, show } from './pictures.js';
import { runButtons, runJob } from './run-job.js';
import { picture } from './sample-view.js';
import { configFields, parseJob, sharedFields } from './settings.js';
import type { ModelChooser } from './model-chooser.js';

export interface LastComparison {
  wallS: [number, number];
  nfe: [number, number];
  speedup: number;
  maxDifference: number;
}

export function compareView(chooser: ModelChooser): { last(): LastComparison | undefined } {
  const shared = addFields(byId('compare-shared'), sharedFields(chooser.names, chooser.defaultName), 'compare-');
  const configs = [
    addFields(byId('compare-a'), configFields({ sampler: 'dpmpp-2m', steps: '20' }), 'compare-a-'),
    addFields(byId('compare-b'), configFields({ sampler: 'dpmpp-2m', steps: '10' }), 'compare-b-'),
  ] as const;
  const run = byId<HTMLButtonElement>('compare-run');
  const cancel = byId<HTMLButtonElement>('compare-cancel');
  const error = byId('compare-error');
  const progress = new ProgressBar(byId('compare-progress'));
  let last: LastComparison | undefined;

  chooser.attach(shared.model as HTMLSelectElement, progress, (trained) => {
    setOptions(shared.class as HTMLSelectElement, ['all', ...(trained.config.classNames ?? [])]);
    run.disabled = false;
  });

  runButtons(run, cancel, progress, error, async (control) => {
    const trained = await loadSelected();
    const jobs = configs.map((config) => parseJob(values(shared), values(config), trained));
    const results = [];
    for (const [index, job] of jobs.entries()) {
      const name = 'AB'[index]!;
      results.push(await runJob(trained, job, control, (p) => progress.set((index + p.step / p.steps) / 2, `${name}: step ${p.step}/${p.steps} · NFE ${p.nfe} · ${p.elapsedS.toFixed(2)} s`)));
      const result = results[index]!;
      show(byId(`compare-result-${name.toLowerCase()}`), picture(result.images.data, trained, job.options.n, result.labels));
      byId(`compare-caption-${name.toLowerCase()}`).textContent = `${name}: ${job.label} · NFE ${result.nfe} · ${result.wallS.toFixed(2)} s`;
    }
    const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
    const speedup = a.wallS / b.wallS;
    let maxDifference = 0;
    if (trained.config.dataShape.length === 3) {
      const difference = differenceMap(a.images.data, b.images.data, a.images.shape);
      show(byId('compare-diff'), difference.canvas);
      maxDifference = difference.max;
      byId('compare-caption-diff').textContent = `|A − B| per pixel: mean ${difference.mean.toFixed(3)}, max ${difference.max.toFixed(3)} (data range 2)`;
    }
    last = { wallS: [a.wallS, b.wallS], nfe: [a.nfe, b.nfe], speedup, maxDifference };
    progress.set(1, 'done');
    byId('compare-stats').textContent =
      `A: NFE ${a.nfe} · ${a.wallS.toFixed(2)} s · ${(a.flops / 1e9).toFixed(2)} GFLOP\n` +
      `B: NFE ${b.nfe} · ${b.wallS.toFixed(2)} s · ${(b.flops / 1e9).toFixed(2)} GFLOP\n` +
      `speedup of B over A: ${speedup.toFixed(2)}x in time, ${(a.nfe / b.nfe).toFixed(2)}x in evaluations, ${(a.flops / b.flops).toFixed(2)}x in FLOPs`;
  });
  const loadSelected = () => chooser.current(shared.model as HTMLSelectElement);
  return { last: () => last };
}
