// `hasten data preview`: a look at a dataset before training on it: a grid of images, or a scatter plot
// of 2-D points (coloured by class where the data has classes).

import { defineCommand } from '../command.js';
import { flag, int, json, text, UsageError } from '../options.js';
import { plural } from '../plural.js';
import { outputFile } from '../output-file.js';
import type { Dataset } from '../../data/dataset.js';
import { ImageGridCanvas } from '../../data/image-io.js';
import { DATASET_NAMES, openDataset } from '../../data/registry.js';
import { scatterPlot } from '../../data/scatter-plot.js';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { checkMemory } from '../../engine/memory-budget.js';

const DEFAULT_IMAGES = 64;
// A scatter plot needs many points before the shape of a distribution shows.
const DEFAULT_POINTS = 2000;
// Images are drawn and painted into the grid this many at a time, so only the grid grows with --n.
const PAINT_BATCH = 256;

/** The PNG of n samples: the grid's size (or the points') is checked against the memory budget before any is drawn. */
function preview(dataset: Dataset, n: number, seed: number, scale: number): Buffer {
  if (dataset.kind === 'images') {
    const canvas = new ImageGridCanvas(n, dataset.shape, { scale });
    for (let first = 0; first < n; first += PAINT_BATCH) canvas.paint(first, dataset.sample({ start: first, count: Math.min(PAINT_BATCH, n - first) }, seed).x);
    return canvas.png();
  }
  checkMemory(`a scatter plot of ${n} points of ${dataset.shape[0]} coordinates`, 4 * n * (dataset.shape[0]! + 2));
  const batch = dataset.sample({ start: 0, count: n }, seed);
  return scatterPlot(batch.x, { labels: batch.labels?.data });
}

function describe(dataset: Dataset): string {
  const classes = dataset.numClasses === undefined ? '' : `, ${dataset.numClasses} classes`;
  return `${dataset.name} (${dataset.shape.join('x')}${classes})`;
}

export const dataPreviewCommand = defineCommand({
  path: ['data', 'preview'],
  summary: 'draw samples of a dataset into a PNG: an image grid, or a scatter plot for points',
  options: {
    data: text({ placeholder: 'NAME', required: true, description: `dataset: ${DATASET_NAMES.join(', ')}` }),
    n: int({ placeholder: 'N', min: 1, description: `samples to draw (default: ${DEFAULT_IMAGES} images or ${DEFAULT_POINTS} points)` }),
    out: outputFile(['.png'], { required: true, description: 'where to write the PNG' }),
    json: json('print { out, data, n, shape, classes } as JSON'),
    seed: int({ placeholder: 'S', min: 0, default: 0, description: 'seed of the sample stream' }),
    resolution: int({ placeholder: 'R', min: 1, description: 'image side in pixels, image datasets only (default 32)' }),
    flip: flag({ description: 'mirror samples left-right at random, folder: datasets only' }),
    scale: int({ placeholder: 'K', min: 1, default: 1, description: 'magnify images K times in the grid' }),
  },
  details: 'Image datasets are square; shapes at --resolution 16, 32 or 64 are its small, default and large variants.',
  async run(values) {
    const { n: requested, seed, resolution, scale } = values;
    const dataset = openDataset(values.data, { resolution, flip: values.flip });
    if (dataset.kind === 'points' && dataset.shape[0]! < 2) throw new UsageError(`${dataset.name} has 1-D points: a scatter plot needs at least two coordinates`);
    const n = requested ?? (dataset.kind === 'images' ? DEFAULT_IMAGES : DEFAULT_POINTS);
    await writeFileAtomic(values.out, preview(dataset, n, seed, scale));
    if (values.json) {
      console.log(JSON.stringify({ out: values.out, data: dataset.name, n, shape: dataset.shape, classes: dataset.classNames ?? null }));
      return;
    }
    const shown = dataset.kind === 'points' && dataset.shape[0]! > 2 ? ' (first two coordinates)' : '';
    console.log(`wrote ${plural(n, 'sample')} of ${describe(dataset)}${shown} to ${values.out}`);
  },
});
