// `folder:PATH`: a user's own PNG and JPEG images as a dataset.
//
// - Images are the files ending in .png, .jpg or .jpeg (any case; hidden files are ignored), recognised
//   by content, so a mislabelled extension still decodes. Every image is decoded, centre-cropped and
//   resized (see resample.ts) once, when the dataset opens, and kept in memory: 12 KB per image at
//   32x32, meant for folders of thousands of images, not millions.
// - Class labels come from sub-folders: if PATH holds images only inside sub-folders, each sub-folder
//   (with everything below it) is one class, classes sorted by name. Images directly in PATH mean no
//   labels; having both is an error, since it is unclear which the user meant.
// - A file that cannot be decoded is skipped with a warning naming it and the reason, so one bad file
//   does not stop a training run; a folder with no usable image is an error naming the folder. A
//   header claiming a side beyond 8,192 pixels (HASTEN_MAX_IMAGE_SIDE) is such a file: it is refused
//   before decoding, so one hostile file cannot take gigabytes (image-io.ts).
// - The stream visits every image once per epoch, in an order shuffled per (seed, epoch); sample k is
//   image order(seed, floor(k / size))[k mod size], mirrored left-right when `flip` is on and the
//   sample's own coin says so.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hostTensor } from '../engine/host-tensor.js';
import { RngStream, type Seed } from '../engine/rng.js';
import { checkResolution, type Dataset, type DatasetBatch, DatasetError, selectionIndices } from './dataset.js';
import { decodeImage } from './image-io.js';
import { centreSquareTensor } from './resample.js';

export interface FolderOptions {
  /** Side of the square images produced. */
  resolution: number;
  /** Mirror each sample left-right with probability 1/2 (augmentation). */
  flip: boolean;
  /** Receives one line per skipped file. */
  warn: (message: string) => void;
}

const IMAGE_EXTENSION = /\.(png|jpe?g)$/i;

function listDirectory(path: string): { files: string[]; folders: string[] } {
  const entries = readdirSync(path, { withFileTypes: true }).filter((entry) => !entry.name.startsWith('.'));
  const sorted = (names: string[]): string[] => names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    files: sorted(entries.filter((entry) => entry.isFile() && IMAGE_EXTENSION.test(entry.name)).map((entry) => entry.name)),
    folders: sorted(entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name)),
  };
}

/** Image files under `path` at any depth, sorted so that the dataset does not depend on the file system's listing order. */
function imageFilesBelow(path: string): string[] {
  const { files, folders } = listDirectory(path);
  return [...files.map((name) => join(path, name)), ...folders.flatMap((name) => imageFilesBelow(join(path, name)))];
}

interface Collection {
  images: Float32Array;
  /** Class id per image; empty when unlabelled. */
  labels: number[];
  classNames?: string[];
}

function readCollection(root: string, { resolution, warn }: FolderOptions): Collection {
  let isFolder: boolean;
  try {
    isFolder = statSync(root).isDirectory();
  } catch {
    throw new DatasetError(`folder '${root}' does not exist`);
  }
  if (!isFolder) throw new DatasetError(`'${root}' is not a folder`);
  const top = listDirectory(root);
  const classFolders = top.folders.map((name) => ({ name, files: imageFilesBelow(join(root, name)) })).filter((folder) => folder.files.length > 0);
  if (top.files.length > 0 && classFolders.length > 0) {
    throw new DatasetError(
      `folder '${root}' has images both at its top level and in sub-folders (${classFolders.map((folder) => folder.name).join(', ')}): ` +
        'put every image in a sub-folder named after its class, or all of them at the top level for no labels',
    );
  }
  const labelled = classFolders.length > 0;
  const groups = labelled ? classFolders : [{ name: '', files: top.files.map((name) => join(root, name)) }];
  if (groups.every((group) => group.files.length === 0)) throw new DatasetError(`folder '${root}' holds no .png, .jpg or .jpeg file`);

  const tensors: Float32Array[] = [];
  const labels: number[] = [];
  const classNames: string[] = [];
  let skipped = 0;
  for (const group of groups) {
    const before = tensors.length;
    for (const file of group.files) {
      try {
        tensors.push(centreSquareTensor(decodeImage(readFileSync(file)), resolution));
      } catch (error) {
        skipped++;
        warn(`skipping unreadable image '${file}': ${(error as Error).message}`);
        continue;
      }
      labels.push(classNames.length);
    }
    // A class whose every file is unreadable is left out rather than kept as a class with no examples.
    if (tensors.length > before) classNames.push(group.name);
  }
  if (tensors.length === 0) throw new DatasetError(`folder '${root}' has no usable image: all ${skipped} image files are unreadable (see the warnings above)`);
  const perImage = 3 * resolution * resolution;
  const images = new Float32Array(tensors.length * perImage);
  tensors.forEach((tensor, i) => images.set(tensor, i * perImage));
  return labelled ? { images, labels, classNames } : { images, labels: [] };
}

/** Mirrors images (any number, each [channels, resolution, resolution]) left-right in place. */
export function mirrorImages(images: Float32Array, resolution: number): Float32Array {
  for (let row = 0; row < images.length; row += resolution) images.subarray(row, row + resolution).reverse();
  return images;
}

export function folderDataset(path: string, options: FolderOptions): Dataset {
  const { resolution, flip } = options;
  checkResolution(resolution);
  const { images, labels, classNames } = readCollection(path, options);
  const perImage = 3 * resolution * resolution;
  const size = images.length / perImage;
  // Training asks for consecutive batches, so one epoch's order serves many calls in a row.
  let cachedOrder: { seed: Seed; epoch: number; order: Int32Array } | undefined;
  const epochOrder = (seed: Seed, epoch: number): Int32Array => {
    if (cachedOrder?.seed !== seed || cachedOrder.epoch !== epoch) {
      cachedOrder = { seed, epoch, order: RngStream.fromSeed(seed, 'folder', 'epoch', epoch).permutation(size) };
    }
    return cachedOrder.order;
  };
  return {
    name: `folder:${path}`,
    kind: 'images',
    shape: [3, resolution, resolution],
    ...(classNames && { numClasses: classNames.length, classNames }),
    hasCaptions: false,
    size,
    sample(selection, seed): DatasetBatch {
      const indices = selectionIndices(selection);
      const coins = flip ? RngStream.fromSeed(seed, 'folder', 'flip').uniform(indices, 1) : undefined;
      const x = new Float32Array(indices.length * perImage);
      const batchLabels = new BigInt64Array(indices.length);
      indices.forEach((index, i) => {
        const epoch = Math.floor(index / size);
        const item = epochOrder(seed, epoch)[index - epoch * size]!;
        const image = x.subarray(i * perImage, (i + 1) * perImage);
        image.set(images.subarray(item * perImage, (item + 1) * perImage));
        if (coins && coins[i]! < 0.5) mirrorImages(image, resolution);
        if (classNames) batchLabels[i] = BigInt(labels[item]!);
      });
      const batch: DatasetBatch = { indices, x: hostTensor('float32', [indices.length, 3, resolution, resolution], x) };
      if (classNames) batch.labels = hostTensor('int64', [indices.length], batchLabels);
      return batch;
    },
  };
}
