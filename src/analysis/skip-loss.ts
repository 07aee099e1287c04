// Analysis (b) of issue 5: what Skip-Tuning does to the denoiser's loss. Ma et al. (ICML 2024, Fig. 4)
// find that scaling the skips down raises the pixel-space denoising loss ||D(x + sigma·eps) − x||² but
// lowers the loss in a feature space, mostly at intermediate sigma. This measures both on real images
// (drawn with the evaluation seed, never seen in training), with one fixed noise draw, for the plain
// network and with Skip-Tuning, in the space of the shipped feature network's feature layer.
//
// Both go through CompiledNetwork's forward pass, exactly as sampling does. Skip-Tuning's time
// schedules are defined on sampler steps, so the sigmas, noisiest first, stand in for the steps of a
// trajectory: time=decreasing attenuates fully at the largest sigma and not at all at the smallest.

import { AccelSettingError } from '../accel/errors.js';
import { CompiledNetwork, type RunPlan } from '../pipeline/sampling-network.js';
import { type SkipTuning, describeSkipTuning } from '../accel/skip-tuning.js';
import { openDataset } from '../data/registry.js';
import { getSampler } from '../diffusion/samplers/index.js';
import { RngStream } from '../engine/rng.js';
import type { FeatureNet } from '../eval/feature-net.js';
import { EVALUATION_SEED_OFFSET, openFeatureNet } from '../pipeline/evaluate-model.js';
import { guidedRunner } from '../pipeline/generate.js';
import type { TrainedModel } from '../pipeline/model-store.js';
import { type Series, lineChart } from '../plot/svg.js';
import { networkDenoiser, objectiveProcess } from '../train/objectives.js';

/** `count` values from `lo` to `hi`, evenly spaced in log. */
export function logSpaced(lo: number, hi: number, count: number): number[] {
  if (count === 1) return [lo];
  return Array.from({ length: count }, (_, i) => Math.exp(Math.log(lo) + (i / (count - 1)) * (Math.log(hi) - Math.log(lo))));
}

export interface SkipLossSettings {
  sigmas: number[]; // noise levels rho = sigma/alpha to measure at
  n: number; // real images
  seed: number; // draws the images (offset by EVALUATION_SEED_OFFSET, as evaluation's) and the noise
  batch: number; // images per network call
  skipTuning: SkipTuning; // compared against the plain network
}

export const SKIP_LOSS_DEFAULTS: Readonly<SkipLossSettings> = {
  sigmas: logSpaced(0.02, 80, 12), // EDM's sampling range, less its last decade where D(x) ≈ x for any network
  n: 256, // on shapes seeds 0 and 1 agree on every pixel-loss ratio to 0.02, feature-loss ratio to 0.06
  seed: 0,
  batch: 64, // the batch `hasten sample` uses
  skipTuning: { inner: 0.8, outer: 0.8, time: 'constant' }, // one moderate factor everywhere, so any effect is Skip-Tuning's alone, not a schedule's
};

export interface SigmaLoss {
  sigma: number;
  /** Mean squared error per pixel value of D against the clean image. */
  pixel_plain: number;
  pixel_tuned: number;
  /** pixel_tuned / pixel_plain. */
  pixel_ratio: number;
  /** Mean squared error per feature of f(D) against f(clean image), f the feature network's feature layer. */
  feature_plain: number;
  feature_tuned: number;
  feature_ratio: number;
}

export interface SkipLossResult extends Omit<SkipLossSettings, 'skipTuning'> {
  model: string;
  skip_tuning: string;
  losses: SigmaLoss[];
  wall_s: number;
}

export interface SkipLossOptions extends Partial<SkipLossSettings> {
  /** The feature network; default: the shipped one for the model's dataset (opened and disposed here). */
  featureNet?: FeatureNet;
  onProgress?: (done: number, total: number) => void;
}

interface Sums {
  pixel: number;
  feature: number;
}

/** Pixel and feature losses of the plain and the Skip-Tuned denoiser at every sigma, on the same images and noise. */
export async function skipLoss(trained: TrainedModel, options: SkipLossOptions = {}): Promise<SkipLossResult> {
  const { featureNet: givenNet, onProgress, ...given } = options;
  const settings: SkipLossSettings = { ...SKIP_LOSS_DEFAULTS, ...given };
  const { sigmas, n, seed, batch, skipTuning } = settings;
  if (sigmas.length === 0 || !sigmas.every((s) => s > 0 && Number.isFinite(s))) throw new RangeError(`skip loss: sigmas must be positive numbers, got ${sigmas.join(', ')}`);
  if (new Set(sigmas).size !== sigmas.length) throw new RangeError(`skip loss: each sigma once, got ${sigmas.join(', ')}`);
  for (const [key, value] of Object.entries({ n, batch })) if (!Number.isInteger(value) || value < 1) throw new RangeError(`skip loss: ${key} must be a positive integer, got ${value}`);
  const { model, params, config } = trained;
  const tuned = new CompiledNetwork(model, params, { skipTuning }, trained.name);
  const plain = new CompiledNetwork(model, params, {}, trained.name);
  if (model.config.captionTokens > 0 || model.config.condVectorDim > 0) throw new AccelSettingError(`skip loss feeds class labels only; model '${trained.name}' is conditioned on captions or vectors`);
  const dataset = openDataset(config.data, { resolution: config.resolution });
  const conditional = model.config.numClasses > 0;
  const featureNet = givenNet ?? (await openFeatureNet(trained));

  const started = performance.now();
  const process = objectiveProcess(config.objective);
  const order = sigmas.map((sigma, index) => ({ sigma, index })).sort((a, b) => b.sigma - a.sigma);
  // Only caching consults the sampler and the initial noise of a plan, and these networks cache nothing.
  const plan: RunPlan = { sampler: getSampler('ddim'), process, grid: Float64Array.from([...order.map((o) => process.tFromRho(o.sigma)), 0]), noise: new Float64Array(0) };
  const real = dataset.sample({ start: 0, count: n }, seed + EVALUATION_SEED_OFFSET);
  if (conditional && !real.labels) throw new AccelSettingError(`model '${trained.name}' is class-conditional but '${dataset.name}' has no labels`);
  const perImage = real.x.data.length / n;
  const eps = RngStream.fromSeed(seed, 'skip-loss-noise').normal({ start: 0, count: n }, perImage);
  const realFeatures = (await featureNet.features(real.x)).features;
  const featureDim = realFeatures.length / n;
  const sums = { plain: sigmas.map((): Sums => ({ pixel: 0, feature: 0 })), tuned: sigmas.map((): Sums => ({ pixel: 0, feature: 0 })) };
  const total = Math.ceil(n / batch) * sigmas.length;
  let done = 0;
  try {
    for (let start = 0; start < n; start += batch) {
      const rows = Math.min(batch, n - start);
      const clean = real.x.data.subarray(start * perImage, (start + rows) * perImage);
      const labels = conditional ? Array.from(real.labels!.data.subarray(start, start + rows)) : undefined;
      const denoisers = ([['plain', plain], ['tuned', tuned]] as const).map(([variant, network]) => {
        const { denoiser } = networkDenoiser(config.objective, guidedRunner(trained, network.run(plan).forward, labels, 1), rows);
        return { variant, denoiser };
      });
      for (const [step, { sigma, index }] of order.entries()) {
        const t = process.tFromRho(sigma);
        const alpha = process.alpha(t);
        const noisy = Float64Array.from(clean, (x, i) => alpha * (x + sigma * eps[start * perImage + i]!));
        for (const { variant, denoiser } of denoisers) {
          const denoised = Float32Array.from(await denoiser.denoise(noisy, t, { step, stage: 0 }));
          const features = (await featureNet.features({ dtype: 'float32', shape: [rows, ...dataset.shape], data: denoised })).features;
          const at = sums[variant][index]!;
          for (let i = 0; i < denoised.length; i++) at.pixel += (denoised[i]! - clean[i]!) ** 2;
          for (let i = 0; i < features.length; i++) at.feature += (features[i]! - realFeatures[start * featureDim + i]!) ** 2;
        }
        onProgress?.(++done, total);
      }
    }
  } finally {
    await plain.dispose();
    await tuned.dispose();
    if (!givenNet) await featureNet.dispose();
  }
  const losses = sigmas.map((sigma, index): SigmaLoss => {
    const pixel = { plain: sums.plain[index]!.pixel / (n * perImage), tuned: sums.tuned[index]!.pixel / (n * perImage) };
    const feature = { plain: sums.plain[index]!.feature / (n * featureDim), tuned: sums.tuned[index]!.feature / (n * featureDim) };
    return {
      sigma,
      pixel_plain: pixel.plain, pixel_tuned: pixel.tuned, pixel_ratio: pixel.tuned / pixel.plain,
      feature_plain: feature.plain, feature_tuned: feature.tuned, feature_ratio: feature.tuned / feature.plain,
    };
  });
  return { sigmas, n, seed, batch, model: trained.name, skip_tuning: describeSkipTuning(skipTuning), losses, wall_s: (performance.now() - started) / 1000 };
}

const PANEL = { width: 900, height: 420 };

/** Standalone chart documents stacked vertically into one, each keeping its own size. */
function stackPanels(panels: readonly string[], width: number, height: number): string {
  const total = height * panels.length;
  const nested = panels.map((svg, i) => svg.trimEnd().replace('<svg ', `<svg x="0" y="${i * height}" `));
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}" viewBox="0 0 ${width} ${total}">`, ...nested, '</svg>'].join('\n') + '\n';
}

/** Two panels against sigma (log axis): the pixel-loss ratio and the feature-loss ratio with Skip-Tuning, each with the no-change line at 1. */
export function skipLossChart(result: SkipLossResult): string {
  const sorted = [...result.losses].sort((a, b) => a.sigma - b.sigma);
  const ends = [sorted[0]!.sigma, sorted.at(-1)!.sigma];
  const panel = (what: string, ratio: (l: SigmaLoss) => number, color: string): string => {
    const series: Series[] = [
      { name: `${what} loss ratio`, color, points: sorted.map((l) => [l.sigma, ratio(l)] as const) },
      { name: 'no change', color: '#888888', dashed: true, points: ends.map((sigma) => [sigma, 1] as const) },
    ];
    return lineChart(series, {
      title: `${what} loss with Skip-Tuning (${result.skip_tuning}) / plain (${result.model}, n = ${result.n})`,
      xLabel: 'sigma',
      yLabel: `${what} MSE ratio`,
      xScale: 'log',
      ...PANEL,
    });
  };
  return stackPanels([panel('pixel', (l) => l.pixel_ratio, '#e15759'), panel('feature', (l) => l.feature_ratio, '#4e79a7')], PANEL.width, PANEL.height);
}
