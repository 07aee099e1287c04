// The Train view: a toy2d run from scratch with a live loss curve and the samples redrawn every few
// hundred steps; Stop keeps the run, and the trained model can be sampled with any sampler.

import { TOY2D_NAMES, type Toy2dName } from '../src/data/toy2d.js';
import { samplerNames } from '../src/diffusion/samplers/index.js';
import { generate } from '../src/pipeline/generate.js';
import { chart } from './chart.js';
import { addFields, byId, clearError, nextFrame, showError, values } from './dom.js';
import { scatter, show } from './pictures.js';
import { SettingError } from './settings.js';
import type { LiveRun } from '../src/pipeline/live-run.js';
import { TOY_DEFAULTS, type ToySettings, toyRun } from '../src/pipeline/toy-run.js';

const SCATTER_POINTS = 1000;

function positive(text: string, what: string, integer: boolean): number {
  const value = Number(text);
  if (text === '' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) throw new SettingError(`${what} must be a positive ${integer ? 'whole ' : ''}number, got '${text}'`);
  return value;
}

/** Mean of each window of `size` losses: the curve people can read. */
function smoothed(losses: readonly number[], size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < losses.length; start += size) {
    const window = losses.slice(start, start + size);
    out.push([start + window.length, window.reduce((a, b) => a + b, 0) / window.length]);
  }
  return out;
}

function describeMlp(run: LiveRun): string {
  const config = run.model.config as { width?: number; depth?: number };
  return `width ${config.width}, ${config.depth} blocks`;
}

export interface TrainState {
  step: number;
  losses: number[];
  stepsPerSecond: number;
  running: boolean;
}

export function trainView(): { state(): TrainState | undefined } {
  const fields = addFields(byId('train-form'), [
    { name: 'data', label: 'data', value: TOY_DEFAULTS.data, options: TOY2D_NAMES },
    { name: 'steps', label: 'steps', value: String(TOY_DEFAULTS.steps) },
    { name: 'batch', label: 'batch', value: String(TOY_DEFAULTS.batch) },
    { name: 'lr', label: 'learning rate', value: String(TOY_DEFAULTS.lr) },
    { name: 'width', label: 'MLP width', value: String(TOY_DEFAULTS.width) },
    { name: 'depth', label: 'MLP blocks', value: String(TOY_DEFAULTS.depth) },
    { name: 'every', label: 'redraw samples every', value: '200', hint: 'steps between scatter plots of the model\'s samples' },
    { name: 'sampler', label: 'sampler', value: 'heun', options: samplerNames },
    { name: 'sampleSteps', label: 'sampler steps', value: '10' },
  ], 'train-');
  const start = byId<HTMLButtonElement>('train-start');
  const stop = byId<HTMLButtonElement>('train-stop');
  const sample = byId<HTMLButtonElement>('train-sample');
  const error = byId('train-error');
  const stats = byId('train-stats');
  let run: LiveRun | undefined;
  let running = false;
  let stopRequested = false;

  const drawSamples = async (): Promise<void> => {
    if (!run) return;
    const settings = values(fields);
    const steps = positive(settings.sampleSteps!, 'sampler steps', true);
    const result = await generate(run.trained(`toy2d ${run.dataset.name} (trained here, step ${run.step})`), { sampler: settings.sampler!, steps, n: SCATTER_POINTS, seed: 1 });
    show(byId('train-scatter'), scatter(result.images.data));
    byId('train-scatter-caption').textContent = `${SCATTER_POINTS} samples at step ${run.step}: ${settings.sampler} ${steps} steps, NFE ${result.nfe}, ${result.wallS.toFixed(2)} s`;
  };

  const drawLoss = (): void => {
    if (!run) return;
    const window = Math.max(1, Math.floor(run.losses.length / 100));
    show(byId('train-loss'), chart({ title: `loss (mean of ${window} step${window > 1 ? 's' : ''})`, x: { label: 'step' }, y: { label: 'loss' }, series: [{ name: 'loss', points: smoothed(run.losses, window) }], width: 420, height: 300 }));
    stats.textContent = `step ${run.step}/${run.config.steps} · loss ${run.losses.at(-1)!.toFixed(4)} · ${run.stepsPerSecond().toFixed(1)} steps/s · ${run.dataset.name}, MLP ${describeMlp(run)}, batch ${run.config.batch}`;
  };

  start.addEventListener('click', async () => {
    clearError(error);
    try {
      const v = values(fields);
      const settings: ToySettings = {
        data: v.data as Toy2dName,
        steps: positive(v.steps!, 'steps', true),
        batch: positive(v.batch!, 'batch', true),
        lr: positive(v.lr!, 'learning rate', false),
        width: positive(v.width!, 'MLP width', true),
        depth: positive(v.depth!, 'MLP blocks', true),
        seed: 0,
      };
      const every = positive(v.every!, 'redraw samples every', true);
      await run?.dispose();
      run = toyRun(settings);
      running = true;
      stopRequested = false;
      start.disabled = true;
      stop.disabled = false;
      sample.disabled = true;
      while (!run.done && !stopRequested) {
        await run.advance();
        if (run.step % 10 === 0 || run.done) {
          drawLoss();
          await nextFrame();
        }
        if (run.step % every === 0) await drawSamples();
      }
      drawLoss();
      if (run.step % every !== 0) await drawSamples();
    } catch (failure) {
      showError(error, failure);
    } finally {
      running = false;
      start.disabled = false;
      stop.disabled = true;
      sample.disabled = run === undefined || run.step === 0;
    }
  });
  stop.addEventListener('click', () => {
    stopRequested = true;
  });
  sample.addEventListener('click', async () => {
    clearError(error);
    sample.disabled = true;
    try {
      await drawSamples();
    } catch (failure) {
      showError(error, failure);
    } finally {
      sample.disabled = false;
    }
  });
  start.disabled = false;
  return { state: () => run && { step: run.step, losses: [...run.losses], stepsPerSecond: run.stepsPerSecond(), running } };
}
