// Dataset names as users write them (`--data NAME`), and the one place that turns a name into a dataset.
//
//   toy2d:eight-gaussians | toy2d:two-moons | toy2d:checkerboard | toy2d:swiss-roll   2-D points
//   gmm:FILE                                                                          a Gaussian-mixture problem file
//   shapes                                                                            procedural RGB shapes
//   folder:PATH                                                                       a folder of PNG/JPEG images
//
// Image datasets are square at `resolution` pixels (default 32): the 16x16 and 64x64 variants of
// `shapes` are the same name at resolution 16 or 64, and one sample index draws the same scene at
// every resolution.

import { type Dataset, DatasetError, DEFAULT_RESOLUTION } from './dataset.js';
import { folderDataset } from './folder.js';
import { gmmDataset } from './gmm.js';
import { shapesDataset } from './shapes.js';
import { isToy2dName, TOY2D_NAMES, toy2dDataset } from './toy2d.js';

export const DATASET_NAMES: readonly string[] = [...TOY2D_NAMES.map((name) => `toy2d:${name}`), 'gmm:FILE', 'shapes', 'folder:PATH'];

export interface OpenDatasetOptions {
  /** Side of square images, for image datasets only (default 32). */
  resolution?: number;
  /** folder: only: mirror each sample left-right with probability 1/2. */
  flip?: boolean;
  /** Where warnings about skipped files go (default: standard error). */
  warn?: (message: string) => void;
}

function writeWarning(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

/** Opens a dataset by name; a name or option that makes no sense throws a DatasetError saying what would. */
export function openDataset(spec: string, { resolution, flip = false, warn = writeWarning }: OpenDatasetOptions = {}): Dataset {
  const colon = spec.indexOf(':');
  const family = colon < 0 ? spec : spec.slice(0, colon);
  const argument = colon < 0 ? undefined : spec.slice(colon + 1);
  const refuseResolution = (): void => {
    if (resolution !== undefined) throw new DatasetError(`'${spec}' is a dataset of points: a resolution applies to image datasets only`);
  };
  if (flip && family !== 'folder') throw new DatasetError(`flipping applies to folder: datasets only, not '${spec}'`);
  switch (family) {
    case 'toy2d':
      if (argument === undefined || !isToy2dName(argument)) {
        throw new DatasetError(`unknown toy2d dataset '${spec}'; valid: ${TOY2D_NAMES.map((name) => `toy2d:${name}`).join(', ')}`);
      }
      refuseResolution();
      return toy2dDataset(argument);
    case 'gmm':
      if (!argument) throw new DatasetError(`'${spec}' names no file: write gmm:FILE with FILE a Gaussian-mixture JSON problem file`);
      refuseResolution();
      return gmmDataset(argument);
    case 'shapes':
      if (argument !== undefined) throw new DatasetError(`'${spec}': shapes takes no argument; choose its size with the resolution (16, 32 or 64)`);
      return shapesDataset(resolution ?? DEFAULT_RESOLUTION);
    case 'folder':
      if (!argument) throw new DatasetError(`'${spec}' names no folder: write folder:PATH`);
      return folderDataset(argument, { resolution: resolution ?? DEFAULT_RESOLUTION, flip, warn });
    default:
      throw new DatasetError(`unknown dataset '${spec}'; valid: ${DATASET_NAMES.join(', ')}`);
  }
}
