// Where the package's own files are, found from the running module so that compiled code in dist/
// finds files shipped beside the sources (models/, problem files).

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The directory holding hasten's package.json. */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(directory, 'package.json')) && existsSync(join(directory, 'src'))) return (cachedRoot = directory);
    const parent = resolve(directory, '..');
    if (parent === directory) throw new Error(`cannot find hasten's package root above ${fileURLToPath(import.meta.url)}`);
    directory = parent;
  }
}

/** The directory of the shipped models. */
export const shippedModelsDir = (): string => join(packageRoot(), 'models');
