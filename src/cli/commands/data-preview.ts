// `hasten data preview`: a look at a dataset before training on it: a grid of images, or a scatter plot
// of 2-D points (coloured by class where the data has classes).

import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Command, parseNumber, UsageError } from '../command.js';
import { type Dataset, DatasetError } from '../../data/dataset.js';
import { imageGrid } from '../../data/image-io.js';
import { DATASET_NAMES, openDataset } from '../../data/registry.js';
import { scatterPlot } from '../../data/scatter-plot.js';
import { writeFileAtomic } from '../../engine/atomic-write.js';

const DEFAULT_IMAGES = 64;
// A scatter plot needs many points before the shape of a distribution shows.
const DEFAULT_POINTS = 2000;

function describe(dataset: Dataset): string {
  const classes = dataset.numClasses === undefined ? '' : `, ${dataset.numClasses} classes`;
  return `${dataset.name} (${dataset.shape.join('x')}${classes})`;
}

export const dataPreviewCommand: Command = {
  path: ['data', 'preview'],
  summary: 'draw samples of a dataset into a PNG: an image grid, or a scatter plot for points',
  options: {
    data: { type: 'string', placeholder: 'NAME', description: `dataset: ${DATASET_NAMES.join(', ')}` },
    n: { type: 'string', placeholder: 'N', description: `samples to draw (default: ${DEFAULT_IMAGES} images or ${DEFAULT_POINTS} points)` },
    out: { type: 'string', placeholder: 'FILE.png', description: 'where to write the PNG' },
    seed: { type: 'string', placeholder: 'S', description: 'seed of the sample stream', default: '0' },
    resolution: { type: 'string', placeholder: 'R', description: 'image side in pixels, image datasets only (default 32)' },
    flip: { type: 'boolean', description: 'mirror samples left-right at random, folder: datasets only' },
    scale: { type: 'string', placeholder: 'K', description: 'magnify images K times in the grid', default: '1' },
  },
  details: 'Image datasets are square; shapes at --resolution 16, 32 or 64 are its small, default and large variants.',
  async run(values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (typeof values.data !== 'string') throw new UsageError(`--data is required; valid: ${DATASET_NAMES.join(', ')}`);
    if (typeof values.out !== 'string') throw new UsageError('--out FILE.png is required');
    if (!values.out.toLowerCase().endsWith('.png')) throw new UsageError(`--out must name a .png file, got '${values.out}'`);
    const requested = parseNumber('n', values.n, { integer: true, min: 1 });
    const seed = parseNumber('seed', values.seed, { integer: true, min: 0 })!;
    const resolution = parseNumber('resolution', values.resolution, { integer: true, min: 1 });
    const scale = parseNumber('scale', values.scale, { integer: true, min: 1 })!;
    let dataset: Dataset;
    try {
      dataset = openDataset(values.data, { resolution, flip: values.flip === true });
    } catch (error) {
      if (error instanceof DatasetError) throw new UsageError(error.message);
      throw error;
    }
    if (dataset.kind === 'points' && dataset.shape[0]! < 2) throw new UsageError(`${dataset.name} has 1-D points: a scatter plot needs at least two coordinates`);
    const n = requested ?? (dataset.kind === 'images' ? DEFAULT_IMAGES : DEFAULT_POINTS);
    const batch = dataset.sample({ start: 0, count: n }, seed);
    const png = dataset.kind === 'images' ? imageGrid(batch.x, { scale }) : scatterPlot(batch.x, { labels: batch.labels?.data });
    await mkdir(dirname(values.out), { recursive: true });
    await writeFileAtomic(values.out, png);
    const shown = dataset.kind === 'points' && dataset.shape[0]! > 2 ? ' (first two coordinates)' : '';
    console.log(`wrote ${n} samples of ${describe(dataset)}${shown} to ${values.out}`);
  },
};
