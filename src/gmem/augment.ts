// The augmentations of the self-supervised encoder: two views of one image should map to the same
// snippet, so what the views differ in (crop, rotation, mirror, colour) is what the encoder learns to
// ignore.
// Views are drawn on the host from per-(seed, step, view) uniforms, so a resumed run sees the same ones.

import { RngStream, type Seed } from '../engine/rng.js';

export interface AugmentSettings {
  minCropArea: number; // random resized crop: the crop keeps at least this fraction of the image's area
  maxAspect: number; // and its aspect ratio lies in [1/maxAspect, maxAspect]
  flip: number; // probability of mirroring left-right
  rotation: number; // rotation about the image centre, uniform in ±rotation of a full turn (the border pixels extend outwards)
  brightness: number; // additive shift, uniform in ±brightness (pixels in [-1, 1])
  contrast: number; // factor on the deviation from the image mean, uniform in 1 ± contrast
  saturation: number; // factor on the deviation from each pixel's grey, uniform in 1 ± saturation
  hue: number; // rotation of the colours about the grey axis, uniform in ±hue of a full turn
  grayscale: number; // probability of replacing the colours by their grey
}

export const AUGMENT_DEFAULTS: Readonly<AugmentSettings> = {
  minCropArea: 0.35, // SimCLR crops down to 8%; shapes fill a fifth of the image, so stay above that
  maxAspect: 4 / 3, // SimCLR's range
  flip: 0.5, // GMem's bank and training use mirrored images too
  // shapes draws every shape at a random angle, so the angle is no part of its class; without a rotation
  // the two views of an image share it (and the background's gradient direction), which tells them apart
  // from the other images as well as the shape does.
  // (Probe after 150 steps: 24.45% with it, 24.15% without; after 600 steps with it, 46.4%. Also inverting
  // the lightness of a quarter of the views was tried: 21.65% after 150 steps, so it is not used.)
  rotation: 0.5,
  brightness: 0.3,
  contrast: 0.4,
  saturation: 0.6,
  // Strong colour changes, as SimCLR found necessary: with mild ones alone, an encoder trained on shapes
  // told the two views of an image apart from the others by colour and learned no shape (linear probe
  // 15.4%, chance 12.5%, at 97.7% contrastive accuracy).
  hue: 0.5,
  grayscale: 0.2,
};

/** Uniforms one view consumes. */
const DRAWS_PER_VIEW = 11;

/** Bilinear sample of channel plane `plane` (side r) at continuous pixel coordinates (x, y), clamped at the border. */
function bilinear(plane: Float32Array, r: number, x: number, y: number): number {
  const cx = Math.min(Math.max(x, 0), r - 1);
  const cy = Math.min(Math.max(y, 0), r - 1);
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, r - 1);
  const y1 = Math.min(y0 + 1, r - 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const top = plane[y0 * r + x0]! * (1 - fx) + plane[y0 * r + x1]! * fx;
  const bottom = plane[y1 * r + x0]! * (1 - fx) + plane[y1 * r + x1]! * fx;
  return top * (1 - fy) + bottom * fy;
}

/** Rotation about the grey axis (1, 1, 1)/√3 by `angle`: the rows of a 3x3 matrix on RGB. */
function hueRotation(angle: number): number[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle) / Math.sqrt(3);
  const t = (1 - c) / 3;
  return [c + t, t - s, t + s, t + s, c + t, t - s, t - s, t + s, c + t];
}

/** One augmented view of `image` [3, r, r] into `out`, from 11 uniforms `u` (the last: the rotation). */
export function augmentView(image: Float32Array, r: number, u: ArrayLike<number>, settings: AugmentSettings, out: Float32Array): void {
  const area = settings.minCropArea + (1 - settings.minCropArea) * u[0]!;
  const aspect = Math.exp((2 * u[1]! - 1) * Math.log(settings.maxAspect));
  const width = Math.min(1, Math.sqrt(area * aspect)) * r;
  const height = Math.min(1, Math.sqrt(area / aspect)) * r;
  const left = (r - width) * u[2]!;
  const top = (r - height) * u[3]!;
  const mirrored = u[4]! < settings.flip;
  const angle = (2 * (u[10] ?? 0.5) - 1) * (settings.rotation ?? 0) * 2 * Math.PI;
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  const plane = r * r;
  const centre = r / 2;
  for (let c = 0; c < 3; c++) {
    const source = image.subarray(c * plane, (c + 1) * plane);
    for (let y = 0; y < r; y++) {
      for (let x = 0; x < r; x++) {
        // Output pixel -> rotated about the centre -> mirrored -> its place in the crop.
        const dx = x + 0.5 - centre;
        const dy = y + 0.5 - centre;
        const rx = cos * dx - sin * dy + centre;
        const ry = sin * dx + cos * dy + centre;
        const column = mirrored ? r - rx : rx;
        out[c * plane + y * r + x] = bilinear(source, r, left + (column * width) / r - 0.5, top + (ry * height) / r - 0.5);
      }
    }
  }
  const shift = (2 * u[5]! - 1) * settings.brightness;
  const contrast = 1 + (2 * u[6]! - 1) * settings.contrast;
  const saturation = u[9]! < (settings.grayscale ?? 0) ? 0 : 1 + (2 * u[7]! - 1) * settings.saturation;
  const rotation = hueRotation((2 * u[8]! - 1) * (settings.hue ?? 0) * 2 * Math.PI);
  let mean = 0;
  for (let i = 0; i < 3 * plane; i++) mean += out[i]!;
  mean /= 3 * plane;
  for (let p = 0; p < plane; p++) {
    const rgb = [out[p]!, out[plane + p]!, out[2 * plane + p]!];
    const grey = (rgb[0]! + rgb[1]! + rgb[2]!) / 3;
    for (let c = 0; c < 3; c++) {
      const rotated = rotation[3 * c]! * rgb[0]! + rotation[3 * c + 1]! * rgb[1]! + rotation[3 * c + 2]! * rgb[2]!;
      const saturated = grey + (rotated - grey) * saturation;
      out[c * plane + p] = Math.min(1, Math.max(-1, (saturated - mean) * contrast + mean + shift));
    }
  }
}

/**
 * Two views of every image of a batch [n, 3, r, r]: [2n, 3, r, r], view a of image i at row i and view
 * b at row n + i. The views of a step depend only on (seed, step).
 */
export function twoViews(images: Float32Array, n: number, r: number, seed: Seed, step: number, settings: AugmentSettings = AUGMENT_DEFAULTS): Float32Array {
  const perImage = 3 * r * r;
  const draws = RngStream.fromSeed(seed, 'encoder-views', step).uniform({ start: 0, count: 2 * n }, DRAWS_PER_VIEW, new Float64Array(2 * n * DRAWS_PER_VIEW));
  const out = new Float32Array(2 * n * perImage);
  for (let view = 0; view < 2 * n; view++) {
    const image = images.subarray((view % n) * perImage, ((view % n) + 1) * perImage);
    augmentView(image, r, draws.subarray(view * DRAWS_PER_VIEW, (view + 1) * DRAWS_PER_VIEW), settings, out.subarray(view * perImage, (view + 1) * perImage));
  }
  return out;
}
