// The Sample view: one configuration, its live x0 predictions, the result grid and its PNG.

import { currentOrt } from '../src/engine/runtime.js';
import type { TrainedModel } from '../src/pipeline/model-store.js';
import { ProgressBar, addFields, byId, setOptions, values } from './dom.js';
import { imageGrid, offerPng, scatter, show } from './pictures.js';
import { runButtons, runJob } from './run-job.js';
import { timed, totalS } from './phases.js';
import { DEFAULT_SAMPLING, configFields, parseJob, sharedFields } from './settings.js';
import type { ModelChooser } from './model-chooser.js';

/** The picture of samples [n, ...dataShape]: an image grid, or a scatter for 2-D points. */
export function picture(data: ArrayLike<number>, trained: TrainedModel, n: number, labels?: number[]): HTMLCanvasElement {
  const shape = trained.config.dataShape;
  return shape.length === 1 ? scatter(data, labels) : imageGrid(data, [n, ...shape]);
}

export interface LastSample {
  images: Float32Array;
  shape: number[];
  wallS: number; // generate()'s own time
  pressedToShownS: number; // from the button press to the result on screen
  nfe: number;
  callsS: number; // of which in ONNX Runtime's calls (the rest: sampler, previews, drawing)
}

export function sampleView(chooser: ModelChooser): { last(): LastSample | undefined; readyS(): number | undefined } {
  const shared = addFields(byId('sample-form'), sharedFields(chooser.names, chooser.defaultName), 'sample-');
  const config = addFields(byId('sample-form'), configFields(DEFAULT_SAMPLING), 'sample-');
  const run = byId<HTMLButtonElement>('sample-run');
  const cancel = byId<HTMLButtonElement>('sample-cancel');
  const download = byId<HTMLAnchorElement>('sample-download');
  const error = byId('sample-error');
  const progress = new ProgressBar(byId('sample-progress'));
  const stats = byId('sample-stats');
  let last: LastSample | undefined;
  let readyS: number | undefined; // seconds from opening the page to the first model ready to sample

  chooser.attach(shared.model as HTMLSelectElement, progress, (trained) => {
    setOptions(shared.class as HTMLSelectElement, ['all', ...(trained.config.classNames ?? [])]);
    run.disabled = false;
    readyS ??= performance.now() / 1000;
  });

  runButtons(run, cancel, progress, error, async (control) => {
    const pressed = performance.now();
    const trained = await chooser.current();
    const job = parseJob(values(shared), values(config), trained);
    const n = job.options.n;
    const result = await timed('sample', () => runJob(trained, job, control, (p) => {
      progress.set(p.step / p.steps, `step ${p.step}/${p.steps} · NFE ${p.nfe} · ${p.elapsedS.toFixed(2)} s`);
      show(byId('sample-preview'), picture(p.denoised, trained, n));
    }));
    const canvas = picture(result.images.data, trained, n, result.labels);
    show(byId('sample-result'), canvas);
    offerPng(download, canvas, `hasten-${trained.name}-${job.options.sampler}-${job.options.steps}-seed${job.options.seed}.png`);
    const callsS = totalS('run', pressed / 1000);
    last = { images: result.images.data, shape: result.images.shape, wallS: result.wallS, pressedToShownS: (performance.now() - pressed) / 1000, nfe: result.nfe, callsS };
    progress.set(1, `done: ${n} samples, NFE ${result.nfe}, ${result.wallS.toFixed(2)} s`);
    stats.textContent = `${trained.name} · ${job.label}\n${n} samples · NFE ${result.nfe} per sample · ${result.wallS.toFixed(2)} s · ${(result.flops / 1e9).toFixed(2)} GFLOP · ${callsS.toFixed(2)} s of it in ${currentOrt().name}'s calls`;
  });
  return { last: () => last, readyS: () => readyS };
}
