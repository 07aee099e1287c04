// `hasten sample`: draws samples from a trained or shipped model with any sampler and writes a PNG
// (an image grid, or a scatter plot for 2-D data).

import { writeFileSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { json, text } from '../options.js';
import { generateOptions, openSwitches, parseClasses, samplingOptions, switchOption } from '../sampling.js';
import { imageGrid } from '../../data/image-io.js';
import { scatterPlot } from '../../data/scatter-plot.js';
import { type GenerateResult, generate } from '../../pipeline/generate.js';
import { isSharded, portableModel, runShardedCommand, sampleShardSize, samplingSettings, scaleOptions, unshardable } from '../scale.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { Progress } from '../progress.js';

export const sampleCommand = defineCommand({
  path: ['sample'],
  summary: 'draw samples from a model into a PNG grid',
  options: {
    ...samplingOptions,
    switch: switchOption,
    out: text({ placeholder: 'FILE.png', required: true, description: 'where to write the grid' }),
    ...scaleOptions,
    'shard-size': sampleShardSize,
    json: json('print { nfe, wall_s, out } as JSON'),
  },
  details: 'Example: hasten sample --model shapes --sampler heun --steps 18 --n 16 --out grid.png\nStochastic: --sampler heun:churn=40 or ddim:eta=1 (fresh noise per sample and step from --seed).\nAccelerations: docs/accel.md (Skip-Tuning combines with one caching method).',
  async run(values) {
    const options = generateOptions(values);
    const { n } = options;
    const started = performance.now();
    const trained = await loadTrainedModel(values.model);
    const classes = parseClasses(trained, values.class);
    const switches = await openSwitches(values.switch);
    let result: GenerateResult;
    if (isSharded(values)) {
      unshardable(switches.length > 0 && '--switch');
      result = (await runShardedCommand<GenerateResult>('grid', samplingSettings(portableModel(values.model, trained), options, classes, values['shard-size']), values, 'sample')).result;
    } else {
      const progress = values.json ? undefined : new Progress({ label: 'sample', total: n, unit: 'img' });
      try {
        result = await generate(trained, { ...options, classes, switches, onBatch: (done) => progress?.update(done) });
      } finally {
        progress?.finish();
      }
    }
    const isImage = result.images.shape.length === 4;
    writeFileSync(values.out, isImage ? imageGrid(result.images, { columns: Math.ceil(Math.sqrt(n)) }) : scatterPlot(result.images, { labels: result.labels?.map((c) => BigInt(c)) }));
    const wallS = (performance.now() - started) / 1000;
    if (values.json) console.log(JSON.stringify({ out: values.out, nfe: result.nfe, wall_s: wallS, sampling_s: result.wallS, gflops_per_image: result.flops / n / 1e9, n }));
    else console.log(`wrote ${n} samples to ${values.out} (${result.nfe} network evaluations each, ${wallS.toFixed(1)} s)`);
  },
});
