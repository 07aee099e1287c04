// `hasten sample`: draws samples from a trained or shipped model with any sampler and writes a PNG
// (an image grid, or a scatter plot for 2-D data).

import { writeFileSync } from 'node:fs';
import { UsageError, defineCommand } from '../command.js';
import { saveSafetensors } from '../../engine/safetensors.js';
import { json, text } from '../options.js';
import { conditioningOptions, generateOptions, openSamplingModel, openSwitches, samplingOptions, switchOption } from '../sampling.js';
import { imageGrid } from '../../data/image-io.js';
import { scatterPlot } from '../../data/scatter-plot.js';
import { generate } from '../../pipeline/generate.js';
import { Progress } from '../progress.js';

export const sampleCommand = defineCommand({
  path: ['sample'],
  summary: 'draw samples from a model into a PNG grid',
  options: {
    ...samplingOptions,
    ...conditioningOptions,
    switch: switchOption,
    out: text({ placeholder: 'FILE.png', required: true, description: 'where to write the grid; a .safetensors name writes the samples themselves (e.g. latents for a VAE)' }),
    json: json('print { nfe, wall_s, out } as JSON'),
  },
  details: 'Example: hasten sample --model shapes --sampler heun --steps 18 --n 16 --out grid.png\nStochastic: --sampler heun:churn=40 or ddim:eta=1 (fresh noise per sample and step from --seed).\nAccelerations: docs/accel.md (Skip-Tuning combines with one caching method).',
  async run(values) {
    const options = generateOptions(values);
    const { n } = options;
    const started = performance.now();
    const { model, classes } = await openSamplingModel(values);
    const switches = await openSwitches(values.switch);
    const progress = values.json ? undefined : new Progress({ label: 'sample', total: n, unit: 'img' });
    let result;
    try {
      result = await generate(model, { ...options, classes, switches, onBatch: (done) => progress?.update(done) });
    } finally {
      progress?.finish();
    }
    const isImage = result.images.shape.length === 4;
    const channels = result.images.shape[1];
    if (values.out.endsWith('.safetensors')) await saveSafetensors(values.out, new Map([['samples', result.images]]));
    else if (isImage && channels !== 1 && channels !== 3) throw new UsageError(`samples have ${channels} channels (latents?), which a PNG cannot show: write them with --out FILE.safetensors`);
    else writeFileSync(values.out, isImage ? imageGrid(result.images, { columns: Math.ceil(Math.sqrt(n)) }) : scatterPlot(result.images, { labels: result.labels?.map((c) => BigInt(c)) }));
    const wallS = (performance.now() - started) / 1000;
    if (values.json) console.log(JSON.stringify({ out: values.out, nfe: result.nfe, wall_s: wallS, sampling_s: result.wallS, gflops_per_image: result.flops / n / 1e9, n }));
    else console.log(`wrote ${n} samples to ${values.out} (${result.nfe} network evaluations each, ${wallS.toFixed(1)} s)`);
  },
});
