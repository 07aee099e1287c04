// Image files in and out: PNG (pngjs) and JPEG (jpeg-js), both pure JavaScript so nothing native is
// downloaded at install. Everything goes through one in-memory form, 8-bit RGBA.

import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import type { HostTensor } from '../engine/host-tensor.js';

const { PNG } = pngjs;

/** 8-bit RGBA pixels, row-major: data[4·(y·width + x) + channel]. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const PNG_COLOUR_TYPE_RGB = 2;
const PNG_COLOUR_TYPE_RGBA = 6;

/** Encodes as PNG; an image with no transparent pixel is stored as RGB, a quarter smaller before compression. */
export function encodePng(image: RgbaImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  let opaque = true;
  for (let alpha = 3; alpha < image.data.length && opaque; alpha += 4) opaque = image.data[alpha] === 255;
  return PNG.sync.write(png, { colorType: opaque ? PNG_COLOUR_TYPE_RGB : PNG_COLOUR_TYPE_RGBA, inputHasAlpha: true });
}

/** Decodes any PNG (palette, grey, 16-bit, interlaced) to 8-bit RGBA. */
export function decodePng(bytes: Uint8Array): RgbaImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
}

// A user's folder should not be able to exhaust memory with one huge JPEG.
const JPEG_MAX_MEGAPIXELS = 100;
const JPEG_MAX_MEMORY_MB = 1024;

export function decodeJpeg(bytes: Uint8Array): RgbaImage {
  const { width, height, data } = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    maxResolutionInMP: JPEG_MAX_MEGAPIXELS,
    maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
  });
  return { width, height, data };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return bytes.length >= signature.length && signature.every((byte, i) => bytes[i] === byte);
}

/** Decodes a PNG or JPEG, recognised by its content rather than its file name. */
export function decodeImage(bytes: Uint8Array): RgbaImage {
  if (startsWith(bytes, PNG_SIGNATURE)) return decodePng(bytes);
  if (startsWith(bytes, JPEG_SIGNATURE)) return decodeJpeg(bytes);
  throw new Error('not a PNG or JPEG image (unrecognised signature)');
}

export interface ImageGridOptions {
  /** Images per row; default: the smallest that makes the grid at least as wide as it is tall. */
  columns?: number;
  /** Pixels of white between images and around the grid (default 2). */
  padding?: number;
  /** Integer magnification by pixel repetition, for looking at small images (default 1). */
  scale?: number;
}

/** Lays out images [n, 1 or 3, h, w] with values in [-1, 1] (clipped) as one grid, encoded as PNG. */
export function imageGrid(images: HostTensor<'float32'>, { columns, padding = 2, scale = 1 }: ImageGridOptions = {}): Buffer {
  if (images.shape.length !== 4 || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new Error(`imageGrid: expected images [n, 1 or 3, height, width], got [${images.shape.join(', ')}]`);
  }
  const [count, channels, height, width] = images.shape as [number, number, number, number];
  if (count < 1) throw new Error('imageGrid: no images');
  const perRow = columns ?? Math.ceil(Math.sqrt(count));
  if (!Number.isInteger(perRow) || perRow < 1) throw new Error(`imageGrid: columns must be a positive integer, got ${perRow}`);
  if (!Number.isInteger(padding) || padding < 0) throw new Error(`imageGrid: padding must be a non-negative integer, got ${padding}`);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`imageGrid: scale must be a positive integer, got ${scale}`);
  const rows = Math.ceil(count / perRow);
  const tileWidth = width * scale;
  const tileHeight = height * scale;
  const gridWidth = perRow * (tileWidth + padding) + padding;
  const gridHeight = rows * (tileHeight + padding) + padding;
  const grid: RgbaImage = { width: gridWidth, height: gridHeight, data: new Uint8Array(gridWidth * gridHeight * 4).fill(255) };
  const plane = height * width;
  for (let n = 0; n < count; n++) {
    const left = padding + (n % perRow) * (tileWidth + padding);
    const top = padding + Math.floor(n / perRow) * (tileHeight + padding);
    for (let y = 0; y < tileHeight; y++) {
      for (let x = 0; x < tileWidth; x++) {
        const source = n * channels * plane + Math.floor(y / scale) * width + Math.floor(x / scale);
        const target = 4 * ((top + y) * grid.width + left + x);
        for (let c = 0; c < 3; c++) grid.data[target + c] = toByte(images.data[source + (channels === 3 ? c * plane : 0)]!);
      }
    }
  }
  return encodePng(grid);
}

/** [-1, 1] to 0..255, clipped. */
function toByte(value: number): number {
  return Math.round(Math.min(1, Math.max(-1, value)) * 127.5 + 127.5);
}
