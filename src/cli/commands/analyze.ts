// `hasten analyze feature-change` and `hasten analyze skip-loss`: the analyses behind the training-free
// accelerations (issue 5), as figures, a JSON record and SVG plots.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from '../command.js';
import { int, json, list, text, UsageError } from '../options.js';
import { modelOption, samplerName } from '../sampling.js';
import { FEATURE_CHANGE_DEFAULTS, featureChange, featureChangeChart } from '../../analysis/feature-change.js';
import { SKIP_LOSS_DEFAULTS, skipLoss, skipLossChart } from '../../analysis/skip-loss.js';
import { describeSkipTuning, parseSkipTuning } from '../../accel/skip-tuning.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { Progress } from '../progress.js';

const shared = {
  model: modelOption,
  out: text({ placeholder: 'DIR', description: 'write the SVG plot(s) and a JSON file of the figures here (created if missing)' }),
  json: json(),
};

/** Writes each file under `dir`, creating it; a directory that cannot be made is a usage error. */
function writeOutputs(dir: string, files: Record<string, string>): void {
  try {
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  } catch (error) {
    throw new UsageError(`--out: cannot write to '${dir}': ${(error as Error).message}`);
  }
}

const fixed = (value: number): string => (Math.abs(value) >= 1e-3 && Math.abs(value) < 1e4 ? value.toPrecision(4) : value.toExponential(3));

export const analyzeFeatureChangeCommand = defineCommand({
  path: ['analyze', 'feature-change'],
  summary: 'relative change of every block\'s output between adjacent sampler steps, by encoder / middle / decoder',
  options: {
    model: shared.model,
    sampler: samplerName('sampler', FEATURE_CHANGE_DEFAULTS.sampler),
    steps: int({ placeholder: 'N', min: 2, default: FEATURE_CHANGE_DEFAULTS.steps, description: 'sampler steps' }),
    n: int({ placeholder: 'N', min: 1, default: FEATURE_CHANGE_DEFAULTS.n, description: 'samples, run as one batch' }),
    seed: int({ placeholder: 'S', min: 0, default: FEATURE_CHANGE_DEFAULTS.seed, description: 'noise seed; sample k starts from the noise `hasten sample` gives it' }),
    out: shared.out,
    json: shared.json,
  },
  details: 'change at step i = ||F_i - F_(i-1)|| / ||F_(i-1)||, F a module\'s output over the whole batch at the first evaluation of step i.\nPer role: mean over steps of the module-averaged change, and its maximum. --out writes feature-change.svg and feature-change.json.',
  async run(values) {
    const { sampler, steps, n, seed } = values;
    const trained = await loadTrainedModel(values.model);
    const progress = values.json ? undefined : new Progress({ label: 'feature-change', total: steps, unit: 'step' });
    let result;
    try {
      result = await featureChange(trained, { sampler, steps, n, seed, onStep: (done) => progress?.update(done) });
    } finally {
      progress?.finish();
    }
    if (values.out !== undefined) writeOutputs(values.out, { 'feature-change.svg': featureChangeChart(result), 'feature-change.json': `${JSON.stringify(result, null, 2)}\n` });
    if (values.json) {
      console.log(JSON.stringify(result));
      return;
    }
    console.log(`${result.model}: ${result.sampler}, ${result.steps} steps, n = ${result.n}`);
    console.log(`${'role'.padEnd(10)} ${'modules'.padStart(7)} ${'mean'.padStart(10)} ${'max'.padStart(10)}`);
    for (const r of result.roles) console.log(`${r.role.padEnd(10)} ${String(r.modules).padStart(7)} ${fixed(r.mean).padStart(10)} ${fixed(r.max).padStart(10)}`);
  },
});

export const analyzeSkipLossCommand = defineCommand({
  path: ['analyze', 'skip-loss'],
  summary: 'pixel- and feature-space denoising loss per sigma, plain and with Skip-Tuning',
  options: {
    model: shared.model,
    'skip-tuning': text({ placeholder: 'SPEC', parse: parseSkipTuning, description: `Skip-Tuning to compare with the plain network: 0.8 | inner=0.5,outer=1 [,time=...] [,sigma=LO:HI] (default: ${describeSkipTuning(SKIP_LOSS_DEFAULTS.skipTuning)})` }),
    n: int({ placeholder: 'N', min: 1, default: SKIP_LOSS_DEFAULTS.n, description: 'real images (drawn with the evaluation seed, never trained on)' }),
    sigmas: list('number', { placeholder: 'S,S,...', above: 0, description: 'noise levels, each once (default: 12 log-spaced from 0.02 to 80)' }),
    batch: int({ placeholder: 'B', min: 1, default: SKIP_LOSS_DEFAULTS.batch, description: 'images per network call' }),
    seed: int({ placeholder: 'S', min: 0, default: SKIP_LOSS_DEFAULTS.seed, description: 'seed of the real images and the noise' }),
    out: shared.out,
    json: shared.json,
  },
  details: 'pixel = mean squared error of D(x + sigma*eps) against x per pixel value; feature = the same between feature-network features of D and of x.\nratio = with Skip-Tuning / plain. Time schedules treat the sigmas, largest first, as the steps of a trajectory. --out writes skip-loss.svg and skip-loss.json.',
  async run(values) {
    const { 'skip-tuning': skipTuning, sigmas, n, batch, seed } = values;
    if (sigmas && new Set(sigmas).size !== sigmas.length) throw new UsageError(`--sigmas: each noise level once, got ${sigmas.join(',')}`);
    const trained = await loadTrainedModel(values.model);
    const progress = values.json ? undefined : new Progress({ label: 'skip-loss', total: Math.ceil(n / batch) * (sigmas ?? SKIP_LOSS_DEFAULTS.sigmas).length, unit: 'sigma' });
    let result;
    try {
      result = await skipLoss(trained, { n, batch, seed, ...(skipTuning ? { skipTuning } : {}), ...(sigmas ? { sigmas } : {}), onProgress: (done) => progress?.update(done) });
    } finally {
      progress?.finish();
    }
    if (values.out !== undefined) writeOutputs(values.out, { 'skip-loss.svg': skipLossChart(result), 'skip-loss.json': `${JSON.stringify(result, null, 2)}\n` });
    if (values.json) {
      console.log(JSON.stringify(result));
      return;
    }
    console.log(`${result.model}: Skip-Tuning ${result.skip_tuning} against plain, n = ${result.n}`);
    const columns = ['sigma', 'pixel', 'pixel tuned', 'ratio', 'feature', 'feature tuned', 'ratio'];
    console.log(columns.map((c) => c.padStart(13)).join(' '));
    for (const l of result.losses) {
      console.log([l.sigma, l.pixel_plain, l.pixel_tuned, l.pixel_ratio, l.feature_plain, l.feature_tuned, l.feature_ratio].map((v) => fixed(v).padStart(13)).join(' '));
    }
  },
});
