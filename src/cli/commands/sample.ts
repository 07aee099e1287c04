// `hasten sample`: draws samples from a trained or shipped model with any sampler and writes a PNG
// (an image grid, or a scatter plot for 2-D data).

import { defineCommand } from '../command.js';
import { int, json, UsageError } from '../options.js';
import { plural } from '../plural.js';
import { outputFile } from '../output-file.js';
import { conditioningOptions, generateOptions, openSamplingModel, openSwitches, samplingOptions, switchOption } from '../sampling.js';
import { ImageGridCanvas } from '../../data/image-io.js';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { scatterPlot } from '../../data/scatter-plot.js';
import { type GenerateResult, generate } from '../../pipeline/generate.js';
import { isSharded, portableModel, runShardedCommand, sampleShardSize, samplingSettings, scaleOptions, unshardable } from '../scale.js';
import { saveSafetensors } from '../../engine/safetensors-file.js';
import { Progress } from '../progress.js';
import { memoryConditions, memorySamplingOptions } from '../memory.js';

export const sampleCommand = defineCommand({
  path: ['sample'],
  summary: 'draw samples from a model into a PNG grid',
  options: {
    ...samplingOptions,
    ...conditioningOptions,
    ...memorySamplingOptions,
    switch: switchOption,
    out: outputFile(['.png', '.safetensors'], { required: true, description: 'where to write the grid (PNG), or the samples themselves as a safetensors tensor (e.g. latents for a VAE)' }),
    scale: int({ placeholder: 'K', min: 1, default: 1, description: 'magnify each image K times in the grid (pixel repetition)' }),
    ...scaleOptions,
    'shard-size': sampleShardSize,
    json: json('print { nfe, wall_s, out } as JSON'),
  },
  details: 'Example: hasten sample --model shapes --sampler heun --steps 18 --n 16 --out grid.png\nStochastic: --sampler heun:churn=40 or ddim:eta=1 (fresh noise per sample and step from --seed).\nAccelerations: docs/accel.md (Skip-Tuning combines with one caching method).\nWith --workers N or --queue URL the samples are drawn in shards (docs/scale.md), the same samples bit for bit.',
  async run(values) {
    const options = generateOptions(values);
    const { n } = options;
    const started = performance.now();
    const { model, classes } = await openSamplingModel(values);
    const switches = await openSwitches(values.switch);
    const memory = await memoryConditions(model, values, options.n, options.seed);
    const dataShape = 'params' in model ? model.config.dataShape : model.dataShape;
    // Images are painted into the grid as each batch arrives (the grid's size checked first); points are few bytes each.
    const isImage = dataShape.length === 3;
    const raw = values.out.endsWith('.safetensors');
    if (!isImage && values.scale !== 1) throw new UsageError('--scale magnifies images; this model draws points');
    if (isImage && !raw && dataShape[0] !== 1 && dataShape[0] !== 3) throw new UsageError(`samples have ${dataShape[0]} channels (latents?), which a PNG cannot show: write them with --out FILE.safetensors`);
    const canvas = isImage && !raw ? new ImageGridCanvas(n, dataShape, { scale: values.scale }) : undefined;
    let result: GenerateResult;
    if (isSharded(values)) {
      if (!('params' in model)) throw new UsageError(`--workers and --queue shard the samples of hasten models; '${values.model}' is an imported model`);
      unshardable((switches.length > 0 && '--switch') || (memory !== undefined && 'memory conditioning'));
      result = (await runShardedCommand<GenerateResult>('grid', samplingSettings(portableModel(values.model, model), options, classes, values['shard-size']), values, 'sample')).result;
      canvas?.paint(0, result.images);
    } else {
      const progress = values.json ? undefined : new Progress({ label: 'sample', total: n, unit: 'img' });
      try {
        result = await generate(model, { ...options, classes, switches, ...memory, keep: !canvas, onSamples: (start, images) => canvas?.paint(start, images), onBatch: (done) => progress?.update(done) });
      } finally {
        progress?.finish();
      }
    }
    if (raw) await saveSafetensors(values.out, new Map([['samples', result.images]]));
    else await writeFileAtomic(values.out, canvas ? canvas.png() : scatterPlot(result.images, { labels: result.labels?.map((c) => BigInt(c)) }));
    const wallS = (performance.now() - started) / 1000;
    if (values.json) console.log(JSON.stringify({ out: values.out, nfe: result.nfe, wall_s: wallS, sampling_s: result.wallS, gflops_per_image: result.flops / n / 1e9, n }));
    else console.log(`wrote ${plural(n, 'sample')} to ${values.out} (${plural(result.nfe, 'network evaluation')} each, ${wallS.toFixed(1)} s)`);
  },
});
