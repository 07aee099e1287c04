import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeModel } from '../../src/engine/onnx/codec.js';
import { OnnxSession } from '../../src/engine/runtime.js';
import { importModel, openImportedModel } from '../../src/import/model-folder.js';
import { ImportError, readOnnxFile } from '../../src/import/onnx-file.js';
import { fixtureDir, importedFixture, references, relativeError, scratch } from './fixtures.js';
import { writeVariant } from './variants.js';

test('weights in an external data file are read from beside the model, and import copies the file', async () => {
  const imported = await importedFixture('ddpm-unet2d');
  const path = writeVariant(imported.onnx, join(scratch, 'external'), true);
  assert.ok(readFileSync(path).length < 300_000, 'the weights (2.8 MB) are outside the model file');
  const file = readOnnxFile(path);
  assert.deepEqual(file.externalFiles, ['model.onnx.data']);
  const out = join(scratch, 'external-imported');
  const record = await importModel({ onnx: path, out, scheduler: join(fixtureDir('ddpm-unet2d'), 'scheduler_config.json') });
  assert.deepEqual(record.external_data, ['model.onnx.data']);
  assert.deepEqual(record.analysis!.structure, imported.record.analysis!.structure);
  const reopened = openImportedModel(out);
  const refs = references('ddpm-unet2d');
  const session = await OnnxSession.create(encodeModel(reopened.onnx));
  try {
    const out0 = await session.run({ sample: refs.get('case0.sample')!, timestep: refs.get('case0.timestep')! });
    assert.ok(relativeError(out0.out_sample!.data as Float32Array, refs.get('case0.out_sample')!.data as Float32Array) <= 1e-4);
  } finally {
    await session.dispose();
  }
});

test('missing, truncated and malformed files are one clear error each, never a crash', async () => {
  const imported = await importedFixture('ddpm-unet2d');
  const dir = join(scratch, 'broken');
  const path = writeVariant(imported.onnx, dir, true);
  const data = join(dir, 'model.onnx.data');
  truncateSync(data, 1000);
  assert.throws(() => readOnnxFile(path), (e: Error) => e instanceof ImportError && /which has 1000 bytes \(truncated/.test(e.message));
  writeFileSync(data, '');
  assert.throws(() => readOnnxFile(path), /which has 0 bytes/);

  const whole = readFileSync(join(fixtureDir('ddpm-unet2d'), 'model.onnx'));
  const cases: [Uint8Array, RegExp][] = [
    [whole.subarray(0, whole.length >> 1), /not a valid ONNX model|raw data has|no graph|no nodes/],
    [whole.subarray(0, 200), /not a valid ONNX model|no graph|no nodes/],
    [new Uint8Array(0), /the file is empty/],
    [new TextEncoder().encode('{"not": "onnx"}'), /not a valid ONNX model|no graph/],
    [Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24), /not a valid ONNX model|no graph|no nodes|not supported/],
  ];
  for (const [bytes, message] of cases) {
    const file = join(scratch, 'malformed.onnx');
    writeFileSync(file, bytes);
    assert.throws(() => readOnnxFile(file), (e: Error) => e instanceof ImportError && message.test(e.message) && !e.message.includes('\n'), `${bytes.length} bytes`);
  }
  assert.throws(() => readOnnxFile(join(scratch, 'nothing-here.onnx')), /no such file/);
});
