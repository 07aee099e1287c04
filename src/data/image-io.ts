// Image files in and out: PNG (pngjs) and JPEG (jpeg-js), both pure JavaScript so nothing native is
// downloaded at install. Everything goes through one in-memory form, 8-bit RGBA.

import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { type HostTensor, sameShape } from '../engine/host-tensor.js';
import { InputError } from '../engine/input-error.js';
import { checkMemory } from '../engine/memory-budget.js';

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

/** Decodes any PNG (palette, grey, 16-bit, interlaced) to 8-bit RGBA. Untrusted bytes go through decodeImage, which checks the header first. */
export function decodePng(bytes: Uint8Array): RgbaImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
}

// jpeg-js's own guards, behind the header check: a file cannot make it allocate beyond these.
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

/** An image file that cannot be read: its message says what is wrong with it. */
export class ImageError extends InputError {
  override name = 'ImageError';
}

/**
 * The largest width or height decodeImage accepts: 8,192 pixels (an RGBA image of 8,192² takes
 * 256 MB), or HASTEN_MAX_IMAGE_SIDE when set. A dataset of 32x32 images has no use for more; the
 * limit is what keeps one hostile header from taking gigabytes.
 */
export const DEFAULT_MAX_IMAGE_SIDE = 8192;

function maxImageSide(): number {
  const raw = process.env.HASTEN_MAX_IMAGE_SIDE;
  if (raw === undefined || raw === '') return DEFAULT_MAX_IMAGE_SIDE;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new ImageError(`HASTEN_MAX_IMAGE_SIDE must be a positive integer, got '${raw}'`);
  return value;
}

export interface ImageHeader {
  format: 'PNG' | 'JPEG';
  width: number;
  height: number;
}

/** Bytes of a PNG's deflated image data (its IDAT chunks), walking the chunk list without trusting its lengths. */
function pngImageDataBytes(view: DataView): number {
  let total = 0;
  for (let at = PNG_SIGNATURE.length; at + 8 <= view.byteLength;) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(view.getUint8(at + 4), view.getUint8(at + 5), view.getUint8(at + 6), view.getUint8(at + 7));
    const available = Math.min(length, view.byteLength - at - 8);
    if (type === 'IDAT') total += available;
    if (type === 'IEND' || available < length) break;
    at += 12 + length;
  }
  return total;
}

function pngHeader(bytes: Uint8Array): ImageHeader & { bitsPerPixel: number; imageDataBytes: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33) throw new ImageError('PNG ends before its IHDR header');
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new ImageError('PNG does not start with its IHDR header');
  const [width, height] = [view.getUint32(16), view.getUint32(20)];
  const bitDepth = bytes[24]!;
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[bytes[25]!];
  if (channels === undefined) throw new ImageError(`PNG colour type ${bytes[25]} is not one of 0, 2, 3, 4, 6`);
  return { format: 'PNG', width, height, bitsPerPixel: bitDepth * channels, imageDataBytes: pngImageDataBytes(view) };
}

// JPEG frame markers (SOF0-SOF15 less DHT, JPG and DAC) carry the image size.
const JPEG_FRAME_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
const JPEG_START_OF_SCAN = 0xda;

function jpegHeader(bytes: Uint8Array): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 2; at + 4 <= bytes.length;) {
    if (bytes[at] !== 0xff) throw new ImageError(`JPEG has no marker at byte ${at}`);
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === JPEG_START_OF_SCAN) break;
    const length = view.getUint16(at + 2);
    if (JPEG_FRAME_MARKERS.has(marker)) {
      if (at + 9 > bytes.length) break;
      const [height, width] = [view.getUint16(at + 5), view.getUint16(at + 7)];
      if (width === 0 || height === 0) throw new ImageError(`JPEG frame header gives a size of ${width}x${height}`);
      return { format: 'JPEG', width, height };
    }
    at += 2 + length;
  }
  throw new ImageError('JPEG without a frame header (no SOF marker before the image data)');
}

/** The format and size an image file declares, read from its header alone. */
export function imageHeader(bytes: Uint8Array): ImageHeader {
  if (startsWith(bytes, PNG_SIGNATURE)) {
    const { format, width, height } = pngHeader(bytes);
    return { format, width, height };
  }
  if (startsWith(bytes, JPEG_SIGNATURE)) return jpegHeader(bytes);
  throw new ImageError('not a PNG or JPEG image (unrecognised signature)');
}

// Deflate packs at most 258 bytes into 2 bits of a block: 1032:1, plus a little for the stream's framing.
const DEFLATE_MAX_RATIO = 1032;
const DEFLATE_SLACK_BYTES = 1024;

export interface DecodeImageOptions {
  maxSide?: number; // the largest width or height accepted; default DEFAULT_MAX_IMAGE_SIDE or HASTEN_MAX_IMAGE_SIDE
}

/**
 * Decodes a PNG or JPEG, recognised by its content rather than its file name. The header is checked
 * first: a side beyond the limit, or a PNG whose compressed image data is too short to hold the size
 * it claims, is refused before anything of that size is allocated.
 */
export function decodeImage(bytes: Uint8Array, { maxSide = maxImageSide() }: DecodeImageOptions = {}): RgbaImage {
  const checkSize = ({ format, width, height }: ImageHeader): string => {
    const size = `${format} of ${width}x${height} pixels`;
    if (width < 1 || height < 1) throw new ImageError(`${size}: an empty image`);
    if (Math.max(width, height) > maxSide) throw new ImageError(`${size}: a side beyond the limit of ${maxSide} (HASTEN_MAX_IMAGE_SIDE)`);
    return size;
  };
  if (!startsWith(bytes, PNG_SIGNATURE)) {
    checkSize(imageHeader(bytes));
    return decoded('JPEG', () => decodeJpeg(bytes));
  }
  const header = pngHeader(bytes);
  const size = checkSize(header);
  const rawBytes = header.height * (1 + Math.ceil((header.width * header.bitsPerPixel) / 8));
  if (rawBytes > DEFLATE_MAX_RATIO * header.imageDataBytes + DEFLATE_SLACK_BYTES) {
    throw new ImageError(`${size} holds only ${header.imageDataBytes} bytes of compressed image data, too few for ${rawBytes} bytes of pixels: the file is cut short or corrupt`);
  }
  return decoded('PNG', () => decodePng(bytes));
}

/** The decoder's own complaint about a corrupt file, as an ImageError. */
function decoded(format: string, decode: () => RgbaImage): RgbaImage {
  try {
    return decode();
  } catch (error) {
    throw new ImageError(`corrupt ${format}: ${(error as Error).message.split('\n')[0]}`);
  }
}

export interface ImageGridOptions {
  /** Images per row; default: the smallest that makes the grid at least as wide as it is tall. */
  columns?: number;
  /** Pixels of white between images and around the grid (default 2). */
  padding?: number;
  /** Integer magnification by pixel repetition, for looking at small images (default 1). */
  scale?: number;
}

/**
 * A grid of `count` images [channels, height, width] with values in [-1, 1] (clipped), painted a
 * batch at a time as samples arrive, so a large grid never needs every sample in memory at once;
 * png() encodes it. Its size is checked against the memory budget before it is allocated.
 */
export class ImageGridCanvas {
  private readonly grid: RgbaImage;
  private readonly perRow: number;
  private readonly padding: number;
  private readonly scale: number;

  constructor(readonly count: number, readonly shape: readonly number[], { columns, padding = 2, scale = 1 }: ImageGridOptions = {}) {
    if (shape.length !== 3 || (shape[0] !== 1 && shape[0] !== 3)) throw new Error(`imageGrid: expected images [n, 1 or 3, height, width], got [n, ${shape.join(', ')}]`);
    if (!Number.isSafeInteger(count) || count < 1) throw new Error('imageGrid: no images');
    const perRow = columns ?? Math.ceil(Math.sqrt(count));
    if (!Number.isInteger(perRow) || perRow < 1) throw new Error(`imageGrid: columns must be a positive integer, got ${perRow}`);
    if (!Number.isInteger(padding) || padding < 0) throw new Error(`imageGrid: padding must be a non-negative integer, got ${padding}`);
    if (!Number.isInteger(scale) || scale < 1) throw new Error(`imageGrid: scale must be a positive integer, got ${scale}`);
    const [, height, width] = shape as [number, number, number];
    const gridWidth = perRow * (width * scale + padding) + padding;
    const gridHeight = Math.ceil(count / perRow) * (height * scale + padding) + padding;
    // The RGBA pixels, and as much again for the PNG encoder's rows.
    checkMemory(`a grid of ${count} images of ${shape.join('x')} at scale ${scale} (${gridWidth}x${gridHeight} pixels)`, 2 * 4 * gridWidth * gridHeight);
    this.grid = { width: gridWidth, height: gridHeight, data: new Uint8Array(gridWidth * gridHeight * 4).fill(255) };
    this.perRow = perRow;
    this.padding = padding;
    this.scale = scale;
  }

  /** Paints images [k, ...shape] as grid cells first .. first + k - 1. */
  paint(first: number, images: HostTensor<'float32'>): void {
    const [channels, height, width] = this.shape as [number, number, number];
    const { perRow, padding, scale, grid } = this;
    const plane = height * width;
    const count = images.shape[0]!;
    if (!sameShape(images.shape.slice(1), this.shape)) throw new Error(`imageGrid: images are [${images.shape.slice(1).join(', ')}], the grid holds [${this.shape.join(', ')}]`);
    if (first < 0 || first + count > this.count) throw new Error(`imageGrid: cells ${first}..${first + count - 1} are outside the grid of ${this.count}`);
    for (let i = 0; i < count; i++) {
      const n = first + i;
      const left = padding + (n % perRow) * (width * scale + padding);
      const top = padding + Math.floor(n / perRow) * (height * scale + padding);
      for (let y = 0; y < height * scale; y++) {
        for (let x = 0; x < width * scale; x++) {
          const source = i * channels * plane + Math.floor(y / scale) * width + Math.floor(x / scale);
          const target = 4 * ((top + y) * grid.width + left + x);
          for (let c = 0; c < 3; c++) grid.data[target + c] = toByte(images.data[source + (channels === 3 ? c * plane : 0)]!);
        }
      }
    }
  }

  png(): Buffer {
    return encodePng(this.grid);
  }
}

/** Lays out images [n, 1 or 3, h, w] with values in [-1, 1] (clipped) as one grid, encoded as PNG. */
export function imageGrid(images: HostTensor<'float32'>, options: ImageGridOptions = {}): Buffer {
  if (images.shape.length !== 4 || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new Error(`imageGrid: expected images [n, 1 or 3, height, width], got [${images.shape.join(', ')}]`);
  }
  const canvas = new ImageGridCanvas(images.shape[0]!, images.shape.slice(1), options);
  canvas.paint(0, images);
  return canvas.png();
}

/** [-1, 1] to 0..255, clipped. */
function toByte(value: number): number {
  return Math.round(Math.min(1, Math.max(-1, value)) * 127.5 + 127.5);
}
