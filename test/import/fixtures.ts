// The external-style U-Net fixtures (test/fixtures/external-unets, see its README), imported once per
// test process into a temporary folder, with their reference cases.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import { decodeSafetensors } from '../../src/engine/safetensors.js';
import { type ImportedModel, importModel, openImportedModel } from '../../src/import/model-folder.js';

export const FIXTURE_NAMES = ['ddpm-unet2d', 'sd-unet2dcondition'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export const fixtureDir = (name: FixtureName): string => join('test', 'fixtures', 'external-unets', name);

export const scratch = mkdtempSync(join(tmpdir(), 'hasten-import-'));

const imported = new Map<string, Promise<ImportedModel>>();

/** The fixture imported with its scheduler config. */
export function importedFixture(name: FixtureName): Promise<ImportedModel> {
  let found = imported.get(name);
  if (!found) {
    const dir = fixtureDir(name);
    const out = join(scratch, name);
    found = importModel({ onnx: join(dir, 'model.onnx'), scheduler: join(dir, 'scheduler_config.json'), out }).then(() => openImportedModel(out));
    imported.set(name, found);
  }
  return found;
}

export function references(name: FixtureName): Map<string, HostTensor> {
  return decodeSafetensors(readFileSync(join(fixtureDir(name), 'reference.safetensors')), name).tensors;
}

/** max |a - b| / max |b|: the README's measure. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
