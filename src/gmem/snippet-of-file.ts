// The snippet of one image file: a user's own picture as a bank entry or a sampling condition.

import { readFileSync } from 'node:fs';
import { DatasetError } from '../data/dataset.js';
import { decodeImage } from '../data/image-io.js';
import { centreSquareTensor } from '../data/resample.js';
import type { SnippetEncoder } from './encoder.js';

/** The raw snippet of an image file, centre-cropped and resized to the encoder's resolution. */
export async function snippetOfFile(encoder: SnippetEncoder, file: string): Promise<Float32Array> {
  let pixels: Float32Array;
  try {
    pixels = centreSquareTensor(decodeImage(readFileSync(file)), encoder.config.imageShape[1]!);
  } catch (error) {
    throw new DatasetError(`cannot read image '${file}': ${(error as Error).message}`);
  }
  return (await encoder.encode({ dtype: 'float32', shape: [1, ...encoder.config.imageShape], data: pixels })).snippets;
}
