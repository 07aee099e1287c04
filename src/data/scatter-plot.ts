// A raster scatter plot of 2-D points as a PNG: enough to see at a glance whether samples have the
// structure of the data (eight blobs, two moons, a checkerboard, a spiral) without a plotting library.

import type { HostTensor } from '../engine/host-tensor.js';
import { encodePng, type RgbaImage } from './image-io.js';

export interface ScatterPlotOptions {
  /** Side of the square plot in pixels (default 512). */
  size?: number;
  /** The plot shows [-extent, extent] on both axes; default: just enough to hold every point. */
  extent?: number;
  /** Class id per point, to colour points by class. */
  labels?: ArrayLike<bigint>;
}

type Rgb = readonly [number, number, number];

/** Tableau's ten categorical colours, distinguishable for most colour-blind viewers. */
const CLASS_COLOURS: readonly Rgb[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];
const BACKGROUND = 255;
const GRID = 232;
const AXIS = 170;
const DOT_RADIUS = 1.6;
const DOT_OPACITY = 0.55;

function pointExtent(points: HostTensor<'float32'>, dim: number): number {
  let largest = 0;
  for (let i = 0; i < points.data.length; i += dim) largest = Math.max(largest, Math.abs(points.data[i]!), Math.abs(points.data[i + 1]!));
  // A margin, rounded up to a half unit so that similar data gives the same frame.
  return Math.max(0.5, Math.ceil(largest * 1.05 * 2) / 2);
}

/** Plots the first two coordinates of points [n, dim >= 2]. */
export function scatterPlot(points: HostTensor<'float32'>, { size = 512, extent, labels }: ScatterPlotOptions = {}): Buffer {
  if (points.shape.length !== 2 || points.shape[1]! < 2) throw new Error(`scatterPlot: expected points [n, dim >= 2], got [${points.shape.join(', ')}]`);
  const dim = points.shape[1]!;
  const half = extent ?? pointExtent(points, dim);
  const image: RgbaImage = { width: size, height: size, data: new Uint8Array(size * size * 4).fill(BACKGROUND) };
  const toPixel = (value: number): number => ((value + half) / (2 * half)) * size;
  const setGrey = (x: number, y: number, level: number): void => {
    image.data.fill(level, 4 * (y * size + x), 4 * (y * size + x) + 3);
  };
  // Grid lines at whole units, axes through the origin.
  for (let unit = Math.ceil(-half); unit <= half; unit++) {
    const column = Math.min(size - 1, Math.floor(toPixel(unit)));
    const row = Math.min(size - 1, Math.floor(size - toPixel(unit)));
    for (let along = 0; along < size; along++) {
      setGrey(column, along, unit === 0 ? AXIS : GRID);
      setGrey(along, row, unit === 0 ? AXIS : GRID);
    }
  }
  for (let n = 0; n < points.shape[0]!; n++) {
    const colour = CLASS_COLOURS[labels ? Number(labels[n]!) % CLASS_COLOURS.length : 0]!;
    const centreX = toPixel(points.data[n * dim]!);
    const centreY = size - toPixel(points.data[n * dim + 1]!);
    for (let y = Math.max(0, Math.floor(centreY - DOT_RADIUS - 1)); y <= Math.min(size - 1, centreY + DOT_RADIUS + 1); y++) {
      for (let x = Math.max(0, Math.floor(centreX - DOT_RADIUS - 1)); x <= Math.min(size - 1, centreX + DOT_RADIUS + 1); x++) {
        // Coverage falls off over one pixel at the rim: an anti-aliased disc.
        const cover = Math.min(1, Math.max(0, DOT_RADIUS + 0.5 - Math.hypot(x + 0.5 - centreX, y + 0.5 - centreY)));
        const alpha = cover * DOT_OPACITY;
        for (let c = 0; c < 3; c++) {
          const at = 4 * (y * size + x) + c;
          image.data[at] = Math.round(image.data[at]! * (1 - alpha) + colour[c]! * alpha);
        }
      }
    }
  }
  return encodePng(image);
}
