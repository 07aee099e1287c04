// Turning samples into pictures: image grids upscaled with nearest-neighbour (no smoothing, so the
// model's own pixels are what you see), a heat map of where two grids differ, and scatter plots of
// 2-D samples.

type Values = ArrayLike<number>;

const GAP = 1; // pixels between grid cells, before upscaling

export function gridColumns(n: number): number {
  return Math.ceil(Math.sqrt(n));
}

/** An integer upscale factor that makes a grid about `target` pixels wide. */
export function upscaleFactor(width: number, target = 384): number {
  return Math.max(1, Math.floor(target / width));
}

/** Paints `rgba(k, y, x)` for each cell k of a grid of n cells of h x w pixels, upscaled by `scale`. */
function paintGrid(n: number, h: number, w: number, scale: number, rgba: (k: number, y: number, x: number, out: Uint8ClampedArray, at: number) => void): HTMLCanvasElement {
  const columns = gridColumns(n);
  const rows = Math.ceil(n / columns);
  const width = columns * (w + GAP) - GAP;
  const height = rows * (h + GAP) - GAP;
  const image = new ImageData(width, height);
  image.data.fill(255);
  for (let k = 0; k < n; k++) {
    const left = (k % columns) * (w + GAP);
    const top = Math.floor(k / columns) * (h + GAP);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba(k, y, x, image.data, 4 * ((top + y) * width + left + x));
  }
  const small = document.createElement('canvas');
  small.width = width;
  small.height = height;
  small.getContext('2d')!.putImageData(image, 0, 0);
  const canvas = document.createElement('canvas');
  canvas.width = width * scale;
  canvas.height = height * scale;
  const context = canvas.getContext('2d')!;
  context.imageSmoothingEnabled = false;
  context.drawImage(small, 0, 0, canvas.width, canvas.height);
  return canvas;
}

const toByte = (v: number): number => Math.round(((Math.min(1, Math.max(-1, v)) + 1) / 2) * 255);

/** A grid of n images [n, c, h, w] in [-1, 1] (c = 1 or 3). */
export function imageGrid(data: Values, shape: readonly number[], scale?: number): HTMLCanvasElement {
  const [n, c, h, w] = shape as [number, number, number, number];
  const plane = h * w;
  return paintGrid(n, h, w, scale ?? upscaleFactor(gridColumns(n) * (w + GAP)), (k, y, x, out, at) => {
    const base = k * c * plane + y * w + x;
    for (let channel = 0; channel < 3; channel++) out[at + channel] = toByte(data[base + (c === 1 ? 0 : channel) * plane]!);
    out[at + 3] = 255;
  });
}

/** Black through red to yellow: u in [0, 1]. */
function heat(u: number, out: Uint8ClampedArray, at: number): void {
  out[at] = Math.round(255 * Math.min(1, 2 * u));
  out[at + 1] = Math.round(255 * Math.max(0, 2 * u - 1));
  out[at + 2] = Math.round(64 * (1 - u));
  out[at + 3] = 255;
}

export interface Difference {
  canvas: HTMLCanvasElement;
  max: number; // largest per-pixel difference (mean over channels), in data units
  mean: number;
}

/** Where two grids of the same shape differ: per pixel, the mean absolute difference over channels, scaled to the largest. */
export function differenceMap(a: Values, b: Values, shape: readonly number[], scale?: number): Difference {
  const [n, c, h, w] = shape as [number, number, number, number];
  const plane = h * w;
  const perPixel = new Float64Array(n * plane);
  let max = 0;
  let sum = 0;
  for (let k = 0; k < n; k++) {
    for (let p = 0; p < plane; p++) {
      let d = 0;
      for (let channel = 0; channel < c; channel++) d += Math.abs(a[(k * c + channel) * plane + p]! - b[(k * c + channel) * plane + p]!);
      d /= c;
      perPixel[k * plane + p] = d;
      max = Math.max(max, d);
      sum += d;
    }
  }
  const canvas = paintGrid(n, h, w, scale ?? upscaleFactor(gridColumns(n) * (w + GAP)), (k, y, x, out, at) => heat(max > 0 ? perPixel[k * plane + y * w + x]! / max : 0, out, at));
  return { canvas, max, mean: sum / perPixel.length };
}

const CLASS_COLOURS = ['#2f6fde', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d'];

/** 2-D points [n, 2] on a square canvas over [-extent, extent]^2, coloured by label. */
export function scatter(points: Values, labels?: ArrayLike<number>, size = 320, extent = 3): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext('2d')!;
  context.fillStyle = '#fff';
  context.fillRect(0, 0, size, size);
  context.strokeStyle = '#dde1e8';
  context.beginPath();
  context.moveTo(size / 2, 0);
  context.lineTo(size / 2, size);
  context.moveTo(0, size / 2);
  context.lineTo(size, size / 2);
  context.stroke();
  const toPixel = (v: number): number => ((v + extent) / (2 * extent)) * size;
  for (let i = 0; i < points.length / 2; i++) {
    context.fillStyle = CLASS_COLOURS[(labels?.[i] ?? 0) % CLASS_COLOURS.length]!;
    context.fillRect(toPixel(points[2 * i]!) - 1, size - toPixel(points[2 * i + 1]!) - 1, 2.5, 2.5);
  }
  return canvas;
}

/** Points a download link at a canvas's PNG. */
export function offerPng(link: HTMLAnchorElement, canvas: HTMLCanvasElement, filename: string): void {
  canvas.toBlob((blob) => {
    if (!blob) return;
    if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    link.classList.remove('disabled');
  }, 'image/png');
}

export function show(box: HTMLElement, element: Element): void {
  box.replaceChildren(element);
}
