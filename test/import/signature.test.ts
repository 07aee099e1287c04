import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAccelFlags } from '../../src/accel/config.js';
import { ImportedNetwork } from '../../src/import/network.js';
import { type ImportedModel } from '../../src/import/model-folder.js';
import { readSignature } from '../../src/import/signature.js';
import { noiseLabel } from '../../src/train/objectives.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import { analyseUNet } from '../../src/import/analysis.js';
import { importedFixture, references, relativeError } from './fixtures.js';
import { withFixedBatch, withNodes, withTimestepInput } from './variants.js';

/** The fixture with its graph replaced by a variant, analysed afresh. */
async function variantOf(base: ImportedModel, onnx: ImportedModel['onnx']): Promise<ImportedModel> {
  const signature = readSignature(onnx);
  return { ...base, onnx, record: { ...base.record, signature, analysis: await analyseUNet(onnx, signature) } };
}

/** case1 (timesteps 500, 250) through ImportedNetwork.call with hasten's noise labels, plain and with DeepCache's full and reuse calls. */
async function checkCase1(imported: ImportedModel): Promise<void> {
  const refs = references('ddpm-unet2d');
  const labels = Float32Array.from([500, 250], (k) => noiseLabel(imported.process.rho((k + 1) / 1000)));
  const feeds: Record<string, HostTensor> = { x: refs.get('case1.sample')!, noise: { dtype: 'float32', shape: [2], data: labels } };
  const expected = refs.get('case1.out_sample')!.data as Float32Array;
  const network = new ImportedNetwork(imported, parseAccelFlags({ deepcache: 'every=2,branch=1' }));
  try {
    const full = await network.call(feeds);
    assert.ok(relativeError(full.out!.data as Float32Array, expected) <= 1e-4);
    const cached = Object.fromEntries(Object.entries(full).filter(([name]) => name !== 'out'));
    const reuse = await network.call({ ...feeds, ...cached }, 2);
    assert.deepEqual(reuse.out!.data, full.out!.data);
  } finally {
    await network.dispose();
  }
}

test('a fixed batch: calls of any size run in chunks of it, padded', async () => {
  const base = await importedFixture('ddpm-unet2d');
  for (const batch of [1, 3]) {
    const imported = await variantOf(base, withFixedBatch(base.onnx, batch));
    assert.equal(imported.record.signature.batch, batch);
    assert.equal(imported.record.signature.timestepShape, 'batch');
    await checkCase1(imported);
  }
});

test('a float timestep, and one timestep for the whole call ([1] and scalar)', async () => {
  const base = await importedFixture('ddpm-unet2d');
  const float = await variantOf(base, withTimestepInput(base.onnx, 'float32', ['batch']));
  assert.equal(float.record.signature.timestepDtype, 'float32');
  await checkCase1(float);
  for (const shape of [[1], []]) {
    const scalar = await variantOf(base, withTimestepInput(base.onnx, 'int64', shape));
    assert.equal(scalar.record.signature.timestepShape, 'scalar');
    await checkCase1(scalar);
  }
});

test('inputs and outputs that cannot work are refused with one line naming them', async () => {
  const { onnx } = await importedFixture('sd-unet2dcondition');
  const g = onnx.graph;
  const refuse = (model: typeof onnx, message: RegExp) => assert.throws(() => readSignature(model), message);
  refuse(withNodes(onnx, g.nodes, { inputs: g.inputs.filter((v) => v.name !== 'sample') }), /no sample input: expected one float input of rank 4/);
  refuse(withNodes(onnx, g.nodes, { inputs: g.inputs.filter((v) => v.name !== 'timestep') }), /no timestep input/);
  refuse(withNodes(onnx, g.nodes, { outputs: [{ ...g.outputs[0]!, shape: ['batch', 8, 16, 16] }] }), /does not match the sample input's shape \[batch, 4, 16, 16\]/);
  refuse(withNodes(onnx, g.nodes, { inputs: [...g.inputs, { name: 'added_cond_kwargs', dtype: 'float32', shape: ['batch', 6] }] }), /input added_cond_kwargs float32\[batch, 6\] is not supported/);
  refuse(withNodes(onnx, g.nodes, { inputs: g.inputs.map((v) => (v.name === 'sample' ? { ...v, shape: ['batch', 4, 'height', 'width'] } : v)) }), /--sample-size/);
  assert.deepEqual(readSignature(withNodes(onnx, g.nodes, { inputs: g.inputs.map((v) => (v.name === 'sample' ? { ...v, shape: ['batch', 4, 'height', 'width'] } : v)) }), { sampleSize: [16, 16] }).sampleShape, [4, 16, 16]);
});

test('a class_labels input is taken with its class count and null class, or refused naming what is missing', async () => {
  const { onnx } = await importedFixture('ddpm-unet2d');
  const g = onnx.graph;
  const withLabels = (dtype: 'int64' | 'int32' | 'float32') => withNodes(onnx, g.nodes, { inputs: [...g.inputs, { name: 'class_labels', dtype, shape: ['batch'] }] });
  assert.throws(() => readSignature(withLabels('int64')), /input class_labels int64\[batch\] takes class labels, but the number of classes is unknown: give --classes N, or keep the model's diffusers config.json \(num_class_embeds\) beside the ONNX file/);
  assert.deepEqual(readSignature(withLabels('int32'), { classes: { classes: 10, nullClass: 9, source: 'config.json num_class_embeds' } }).classLabels, { name: 'class_labels', dtype: 'int32', classes: 10, nullClass: 9, source: 'config.json num_class_embeds' });
  assert.throws(() => readSignature(withLabels('float32'), { classes: { classes: 10 } }), /class-label input class_labels float32\[batch\] must be int64 or int32 \[batch\]/);
  assert.throws(() => readSignature(withLabels('int64'), { classes: { classes: 10, nullClass: 10 } }), /null class 10 is not one of the model's labels 0\.\.9/);
  assert.throws(() => readSignature(onnx, { classes: { classes: 10, given: '--classes' } }), /--classes: the graph takes no class labels/);
  assert.equal(readSignature(onnx, { classes: { classes: 10 } }).classLabels, undefined, 'a config that counts classes for a graph without the input is no error');
});
