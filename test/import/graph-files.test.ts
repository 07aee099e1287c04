import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { parseAccelFlags } from '../../src/accel/config.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import type { OnnxModel } from '../../src/engine/onnx/codec.js';
import { GraphFiles } from '../../src/import/graph-files.js';
import { importModel, openImportedModel } from '../../src/import/model-folder.js';
import { ImportedNetwork } from '../../src/import/network.js';
import { fixtureDir, importedFixture, scratch } from './fixtures.js';

const vector = (values: number[]): HostTensor => ({ dtype: 'float32', shape: [values.length], data: Float32Array.from(values) });

/** y = (x + a) * b, and its cut: y from z = x + a given. */
function graphs(): { full: OnnxModel; cut: OnnxModel } {
  const a = vector(Array.from({ length: 512 }, (_, i) => i));
  const b = vector(Array.from({ length: 512 }, (_, i) => 1 / (i + 1)));
  const model = (inputs: string[], nodes: OnnxModel['graph']['nodes'], initializers: [string, HostTensor][]): OnnxModel => ({
    irVersion: 8, opsets: [{ domain: '', version: 17 }], producerName: 'test', producerVersion: '', metadata: {},
    graph: { name: 'g', nodes, inputs: inputs.map((name) => ({ name, dtype: 'float32', shape: [512] })), outputs: [{ name: 'y', dtype: 'float32', shape: [512] }], initializers: new Map(initializers) },
  });
  const mul = { opType: 'Mul', inputs: ['z', 'b'], outputs: ['y'], name: 'mul', attributes: {} };
  return {
    full: model(['x'], [{ opType: 'Add', inputs: ['x', 'a'], outputs: ['z'], name: 'add', attributes: {} }, mul], [['a', a], ['b', b]]),
    cut: model(['z'], [mul], [['b', b]]),
  };
}

test('graphs whose weights pass the inline limit run from a model file with external data, each tensor written once', async () => {
  const { full, cut } = graphs();
  const x = vector(Array.from({ length: 512 }, (_, i) => Math.sin(i)));
  const inline = new GraphFiles();
  assert.ok(inline.source(full) instanceof Uint8Array);
  const expected = (await (await inline.session(full)).run({ x })).y!.data;
  const files = new GraphFiles(1024); // each vector is 2 KiB
  const path = files.source(full);
  assert.equal(typeof path, 'string');
  assert.ok(readFileSync(path as string).length < 1024, 'the weights are outside the model file');
  assert.deepEqual((await (await files.session(full)).run({ x })).y!.data, expected);
  // The cut holds `b` again: nothing more is written.
  const z = { ...x, data: Float32Array.from(x.data as Float32Array, (v, i) => v + i) };
  assert.deepEqual((await (await files.session(cut)).run({ z })).y!.data, expected);
  assert.equal(files.externalBytes, 2 * 512 * 4);
  assert.equal(statSync(join(dirname(path as string), 'weights.data')).size, 2 * 512 * 4);
  files.dispose();
  assert.ok(!existsSync(dirname(path as string)), 'dispose removes the files');
});

test('an imported U-Net over the inline limit is analysed, edited and cut with its weights in external data, with the same results', async () => {
  const imported = await importedFixture('ddpm-unet2d');
  const dir = fixtureDir('ddpm-unet2d');
  const out = join(scratch, 'external-graphs');
  const record = await importModel({ onnx: join(dir, 'model.onnx'), scheduler: join(dir, 'scheduler_config.json'), out, inlineLimit: 4096 });
  assert.deepEqual(record.analysis, imported.record.analysis);
  const accel = parseAccelFlags({ deepcache: 'every=2,branch=1', 'skip-tuning': '0.8' });
  const viaFiles = new ImportedNetwork(openImportedModel(out, { inlineLimit: 4096 }), accel);
  const inline = new ImportedNetwork(imported, accel);
  try {
    const shape = [2, ...imported.dataShape];
    const x: HostTensor = { dtype: 'float32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(0.1 * i)) };
    const feeds = { x, noise: { dtype: 'float32' as const, shape: [2], data: Float32Array.of(0.3, 0.3) }, skipScale: { dtype: 'float32' as const, shape: [2, 4], data: new Float32Array(8).fill(0.8) } };
    const [mine, theirs] = [await viaFiles.call(feeds), await inline.call(feeds)];
    assert.deepEqual(mine, theirs);
    const cached = Object.fromEntries(Object.entries(theirs).filter(([name]) => name !== 'out'));
    assert.deepEqual(await viaFiles.call({ ...feeds, ...cached }, 2), await inline.call({ ...feeds, ...cached }, 2));
    const weights = [...imported.onnx.graph.initializers.values()].filter((t) => t.data.byteLength >= 1024).reduce((n, t) => n + t.data.byteLength, 0);
    assert.equal(viaFiles.files.externalBytes, weights, 'the full and the cut graph share one data file');
  } finally {
    await viaFiles.dispose();
    await inline.dispose();
  }
});
