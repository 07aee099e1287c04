// Running one sampling job in the page: the model's cached network on the current backend, each
// step's x0 prediction handed to the caller, and a stop flag a Cancel button sets.

import { getSampler } from '../src/diffusion/samplers/index.js';
import { currentOrt } from '../src/engine/runtime.js';
import { type GenerateResult, type SamplingNetwork, generate } from '../src/pipeline/generate.js';
import type { TrainedModel } from '../src/pipeline/model-store.js';
import type { CompiledNetwork } from '../src/pipeline/sampling-network.js';
import { type ProgressBar, clearError, nextFrame, showError } from './dom.js';
import { networkFor } from './models.js';
import type { Job } from './settings.js';

export interface JobProgress {
  step: number; // steps done
  steps: number;
  nfe: number; // planned evaluations per sample of the steps done
  elapsedS: number;
  denoised: Float64Array; // this step's x0 prediction, [n, ...dataShape]
}

export class Cancelled extends Error {
  override name = 'Cancelled';
}

export interface RunControl {
  cancelled: boolean;
}

let queue: Promise<unknown> = Promise.resolve();

/** Runs jobs one at a time: two runs on one ONNX Runtime session must not interleave. */
function exclusive<T>(work: () => Promise<T>): Promise<T> {
  const result = queue.then(work);
  queue = result.catch(() => undefined);
  return result;
}

/**
 * `network` as generate() runs it, except that each call only creates the session its feeds need and
 * returns zeros: a run through it compiles everything a real run of the same shape calls.
 */
function compiling(network: CompiledNetwork): SamplingNetwork {
  return {
    flops: 0,
    run: () => ({
      forward: async (feeds) => {
        await network.prepare(feeds);
        return new Float32Array(feeds.x!.data.length);
      },
      samplerOptions: {},
    }),
    dispose: async () => undefined,
  };
}

const WARM_UP: Job = { options: { sampler: 'ddim', steps: 1, n: 16, seed: 0 }, accel: {}, label: 'warm-up' };
const compiled = new Map<string, Promise<unknown>>();
const warmed = new Map<string, Promise<unknown>>();

function once(done: Map<string, Promise<unknown>>, key: string, work: () => Promise<unknown>): Promise<unknown> {
  let result = done.get(key);
  if (!result) {
    result = work();
    result.catch(() => done.delete(key));
    done.set(key, result);
  }
  return result;
}

/** Compiles the plain network of `trained` for `n` samples on the current backend, without running it. */
export function compileFor(trained: TrainedModel, n = 16): Promise<unknown> {
  const network = networkFor(trained, {}, currentOrt().name);
  return once(compiled, `${trained.name}|${currentOrt().name}|${n}`, () => exclusive(() => generate(trained, { ...WARM_UP.options, n, network: compiling(network) })));
}

/** Makes the first call of that network (onnxruntime-web's first call of a session is much slower than the next ones), by a one-step run. */
export function warmUp(trained: TrainedModel, n = 16): Promise<unknown> {
  return once(warmed, `${trained.name}|${currentOrt().name}|${n}`, () => runJob(trained, { ...WARM_UP, options: { ...WARM_UP.options, n } }, { cancelled: false }));
}

/** Samples `job` on `trained`; throws Cancelled when `control.cancelled` is set between steps. */
export function runJob(trained: TrainedModel, job: Job, control: RunControl, onProgress?: (progress: JobProgress) => void): Promise<GenerateResult> {
  return exclusive(() => sample(trained, job, control, onProgress));
}

async function sample(trained: TrainedModel, job: Job, control: RunControl, onProgress?: (progress: JobProgress) => void): Promise<GenerateResult> {
  const sampler = getSampler(job.options.sampler);
  const perCall = job.options.guidance !== undefined && job.options.guidance !== 1 ? 2 : 1;
  const network = networkFor(trained, job.accel, currentOrt().name);
  const started = performance.now();
  let stopped = false;
  const result = await generate(trained, {
    ...job.options,
    network,
    onStep: async (info) => {
      onProgress?.({ step: info.step + 1, steps: job.options.steps, nfe: perCall * sampler.nfe(info.step + 1), elapsedS: (performance.now() - started) / 1000, denoised: info.denoised });
      await nextFrame();
      if (control.cancelled) stopped = true;
      return stopped ? 'stop' : undefined;
    },
  });
  if (stopped) throw new Cancelled('cancelled');
  return result;
}

/** Wires a view's Run and Cancel buttons: one run at a time, errors shown under them, Cancel stopping after the current step. */
export function runButtons(run: HTMLButtonElement, cancel: HTMLButtonElement, progress: ProgressBar, error: HTMLElement, work: (control: RunControl) => Promise<void>): void {
  let control: RunControl = { cancelled: false };
  run.addEventListener('click', async () => {
    clearError(error);
    control = { cancelled: false };
    run.disabled = true;
    cancel.disabled = false;
    try {
      await work(control);
    } catch (failure) {
      if (failure instanceof Cancelled) progress.set(0, 'cancelled');
      else showError(error, failure);
    } finally {
      run.disabled = false;
      cancel.disabled = true;
    }
  });
  cancel.addEventListener('click', () => {
    control.cancelled = true;
  });
}
