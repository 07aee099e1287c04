// `hasten sample`: draws samples from a trained or shipped model with any sampler and writes a PNG
// (an image grid, or a scatter plot for 2-D data).

import { defineCommand } from '../command.js';
import { int, json, UsageError } from '../options.js';
import { plural } from '../plural.js';
import { outputFile } from '../output-file.js';
import { generateOptions, openSwitches, parseClasses, samplingOptions, switchOption } from '../sampling.js';
import { ImageGridCanvas } from '../../data/image-io.js';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { scatterPlot } from '../../data/scatter-plot.js';
import { generate } from '../../pipeline/generate.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { Progress } from '../progress.js';

export const sampleCommand = defineCommand({
  path: ['sample'],
  summary: 'draw samples from a model into a PNG grid',
  options: {
    ...samplingOptions,
    switch: switchOption,
    out: outputFile(['.png'], { required: true, description: 'where to write the grid (PNG)' }),
    scale: int({ placeholder: 'K', min: 1, default: 1, description: 'magnify each image K times in the grid (pixel repetition)' }),
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
    // Images are painted into the grid as each batch arrives (the grid's size checked first); points are few bytes each.
    const isImage = trained.config.dataShape.length === 3;
    if (!isImage && values.scale !== 1) throw new UsageError('--scale magnifies images; this model draws points');
    const canvas = isImage ? new ImageGridCanvas(n, trained.config.dataShape, { scale: values.scale }) : undefined;
    const progress = values.json ? undefined : new Progress({ label: 'sample', total: n, unit: 'img' });
    let result;
    try {
      result = await generate(trained, { ...options, classes, switches, keep: !canvas, onSamples: (start, images) => canvas?.paint(start, images), onBatch: (done) => progress?.update(done) });
    } finally {
      progress?.finish();
    }
    await writeFileAtomic(values.out, canvas ? canvas.png() : scatterPlot(result.images, { labels: result.labels?.map((c) => BigInt(c)) }));
    const wallS = (performance.now() - started) / 1000;
    if (values.json) console.log(JSON.stringify({ out: values.out, nfe: result.nfe, wall_s: wallS, sampling_s: result.wallS, gflops_per_image: result.flops / n / 1e9, n }));
    else console.log(`wrote ${plural(n, 'sample')} to ${values.out} (${plural(result.nfe, 'network evaluation')} each, ${wallS.toFixed(1)} s)`);
  },
});
