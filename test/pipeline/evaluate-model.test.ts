import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/engine/input-error.js';
import { shippedModelsDir } from '../../src/paths.js';
import { openFeatureNet } from '../../src/pipeline/evaluate-model.js';

test('a feature network trained at another size than the data is refused before any sampling, naming both', async () => {
  await assert.rejects(openFeatureNet({ config: { data: 'shapes', resolution: 16 } }, join(shippedModelsDir(), 'features-shapes')), (error: Error) => {
    assert.ok(error instanceof InputError);
    assert.match(error.message, /the feature network was trained on shapes at 3x32x32, not shapes at 3x16x16/);
    return true;
  });
  const fits = await openFeatureNet({ config: { data: 'shapes', resolution: 32 } });
  await fits.dispose();
});
