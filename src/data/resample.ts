// Turning an arbitrary photo into a square training image: centre crop to the shorter side, then resize.
//
// Resizing uses a triangle (bilinear) filter widened by the reduction factor, as Pillow's BILINEAR does:
// when enlarging it is plain bilinear interpolation; when shrinking, each output pixel averages all the
// source pixels under it (weighted by a tent), so fine detail does not alias into moiré as it would with
// point-sampled bilinear. The filter is separable: rows first, then columns.

import type { RgbaImage } from './image-io.js';

interface AxisWeights {
  /** First source pixel each output pixel reads. */
  first: Int32Array;
  /** Normalised weights of the source pixels first[i], first[i] + 1, ... for output pixel i. */
  weights: Float64Array[];
}

/** Weights resampling source pixels [start, start + length) to `size` output pixels. */
function axisWeights(start: number, length: number, size: number): AxisWeights {
  const ratio = length / size;
  const support = Math.max(ratio, 1);
  const first = new Int32Array(size);
  const weights: Float64Array[] = [];
  for (let i = 0; i < size; i++) {
    const centre = start + (i + 0.5) * ratio;
    const low = Math.max(start, Math.floor(centre - support));
    const high = Math.min(start + length, Math.ceil(centre + support));
    const row = new Float64Array(high - low);
    let total = 0;
    for (let j = low; j < high; j++) total += row[j - low] = Math.max(0, 1 - Math.abs((j + 0.5 - centre) / support));
    for (let k = 0; k < row.length; k++) row[k]! /= total;
    first[i] = low;
    weights.push(row);
  }
  return { first, weights };
}

/**
 * The centre square of `image`, resized to resolution x resolution, as RGB planes [3, r, r] in [-1, 1].
 * Transparent pixels are composited over white, the usual backdrop of images with an alpha channel.
 */
export function centreSquareTensor(image: RgbaImage, resolution: number): Float32Array {
  const { width, height, data } = image;
  const side = Math.min(width, height);
  const horizontal = axisWeights(Math.floor((width - side) / 2), side, resolution);
  const vertical = axisWeights(Math.floor((height - side) / 2), side, resolution);
  const top = vertical.first[0]!;
  const rowsUsed = vertical.first[resolution - 1]! + vertical.weights[resolution - 1]!.length - top;
  // Rows resized horizontally first, [3, rowsUsed, resolution], in [0, 1]: only rows the vertical pass reads.
  const rows = new Float64Array(3 * rowsUsed * resolution);
  for (let y = 0; y < rowsUsed; y++) {
    for (let x = 0; x < resolution; x++) {
      const weights = horizontal.weights[x]!;
      let red = 0;
      let green = 0;
      let blue = 0;
      for (let k = 0; k < weights.length; k++) {
        const pixel = 4 * ((top + y) * width + horizontal.first[x]! + k);
        const alpha = data[pixel + 3]! / 255;
        const white = 1 - alpha;
        red += weights[k]! * ((data[pixel]! / 255) * alpha + white);
        green += weights[k]! * ((data[pixel + 1]! / 255) * alpha + white);
        blue += weights[k]! * ((data[pixel + 2]! / 255) * alpha + white);
      }
      rows[y * resolution + x] = red;
      rows[(rowsUsed + y) * resolution + x] = green;
      rows[(2 * rowsUsed + y) * resolution + x] = blue;
    }
  }
  const out = new Float32Array(3 * resolution * resolution);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < resolution; y++) {
      const weights = vertical.weights[y]!;
      const firstRow = c * rowsUsed + vertical.first[y]! - top;
      for (let x = 0; x < resolution; x++) {
        let value = 0;
        for (let k = 0; k < weights.length; k++) value += weights[k]! * rows[(firstRow + k) * resolution + x]!;
        out[(c * resolution + y) * resolution + x] = 2 * value - 1;
      }
    }
  }
  return out;
}
