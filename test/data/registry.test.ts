import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatasetError } from '../../src/data/dataset.js';
import { DATASET_NAMES, openDataset } from '../../src/data/registry.js';

function refuses(spec: string, pattern: RegExp, options = {}): void {
  assert.throws(() => openDataset(spec, options), (error: Error) => error instanceof DatasetError && pattern.test(error.message), spec);
}

test('openDataset opens every named dataset at the requested resolution', () => {
  assert.equal(openDataset('toy2d:swiss-roll').name, 'toy2d:swiss-roll');
  assert.deepEqual(openDataset('shapes').shape, [3, 32, 32]);
  assert.deepEqual(openDataset('shapes', { resolution: 64 }).shape, [3, 64, 64]);
  assert.ok(DATASET_NAMES.includes('toy2d:checkerboard') && DATASET_NAMES.includes('folder:PATH'));
});

test('openDataset explains unknown names and options that do not apply', () => {
  refuses('mnist', /unknown dataset 'mnist'; valid: toy2d:eight-gaussians, .*shapes, folder:PATH/);
  refuses('toy2d:spiral', /unknown toy2d dataset 'toy2d:spiral'; valid: .*toy2d:swiss-roll/);
  refuses('toy2d', /unknown toy2d dataset/);
  refuses('shapes:16', /resolution/);
  refuses('gmm:', /names no file/);
  refuses('folder:', /names no folder/);
  refuses('toy2d:two-moons', /points: a resolution applies to image datasets only/, { resolution: 32 });
  refuses('shapes', /flipping applies to folder: datasets only/, { flip: true });
  refuses('shapes', /resolution must be an integer from 8 to 512/, { resolution: 1000 });
});
