import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import type { OnnxModel } from '../../src/engine/onnx/codec.js';
import { decodeModel, encodeModel } from '../../src/engine/onnx/codec.js';
import { analyseUNet } from '../../src/import/analysis.js';
import { OnnxSession } from '../../src/engine/runtime.js';
import { GraphFiles } from '../../src/import/graph-files.js';
import { probeShapes } from '../../src/import/probe.js';
import { readSignature } from '../../src/import/signature.js';
import { StructureError, detectStructure } from '../../src/import/structure.js';
import { importModel, openImportedModel } from '../../src/import/model-folder.js';
import { FIXTURE_NAMES, type FixtureName, importedFixture, references, relativeError, scratch } from './fixtures.js';
import { toOpset18GroupNorm, withConstantWeights, withInitializersAsInputs, withOpaqueNames, withSkipFirst, writeVariant } from './variants.js';

async function detect(model: OnnxModel) {
  const signature = readSignature(model);
  return detectStructure(model, signature, await probeShapes(model, signature, new GraphFiles()));
}

async function reproducesReferences(model: OnnxModel, name: FixtureName): Promise<void> {
  const refs = references(name);
  const session = await OnnxSession.create(encodeModel(model));
  try {
    for (const i of [0, 1, 2]) {
      const feeds = Object.fromEntries(session.inputNames.map((input) => [input, refs.get(`case${i}.${input}`)!]));
      const error = relativeError((await session.run(feeds)).out_sample!.data as Float32Array, refs.get(`case${i}.out_sample`)!.data as Float32Array);
      assert.ok(error <= 1e-4, `${name} case ${i}: ${error}`);
    }
  } finally {
    await session.dispose();
  }
}

for (const name of FIXTURE_NAMES) {
  test(`${name} at opset 18 with GroupNormalization: the same outputs and the same structure`, async () => {
    const imported = await importedFixture(name);
    const variant = toOpset18GroupNorm(imported.onnx);
    assert.ok(variant.graph.nodes.some((n) => n.opType === 'GroupNormalization'));
    assert.ok(!variant.graph.nodes.some((n) => n.opType === 'InstanceNormalization'));
    await reproducesReferences(variant, name);
    assert.deepEqual(await detect(variant), imported.record.analysis!.structure);
  });

  test(`${name} with opaque node names: the same structure, found from topology alone`, async () => {
    const imported = await importedFixture(name);
    const { model, renamed } = withOpaqueNames(imported.onnx);
    const found = await detect(model);
    const expected = imported.record.analysis!.structure;
    const map = (t: string) => renamed.get(t) ?? t;
    assert.deepEqual(found.skips, expected.skips.map((s) => ({ ...s, concat_node: map(s.concat_node), hidden_operand: map(s.hidden_operand), skip_operand: map(s.skip_operand), skip_producer_node: map(s.skip_producer_node) })));
    assert.deepEqual(found.boundary, { encoder_output: map(expected.boundary.encoder_output), decoder_input: map(expected.boundary.decoder_input) });
  });
}

test('weights as Constant nodes, or also listed as graph inputs: the same signature, structure and FLOPs', async () => {
  const imported = await importedFixture('ddpm-unet2d');
  const constants = decodeModel(encodeModel(withConstantWeights(imported.onnx)));
  assert.equal(constants.graph.initializers.size, 0);
  assert.deepEqual(await analyseUNet(constants, readSignature(constants)), imported.record.analysis);
  const listed = decodeModel(encodeModel(withInitializersAsInputs(imported.onnx)));
  assert.deepEqual(readSignature(listed), imported.record.signature);
});

test('skip operands first in the Concat (another exporter\'s order) are found as skips', async () => {
  const imported = await importedFixture('ddpm-unet2d');
  const expected = imported.record.analysis!.structure;
  const found = await detect(withSkipFirst(imported.onnx, expected.skips.map((s) => s.concat_node)));
  assert.deepEqual(found.skips, expected.skips.map((s) => ({ ...s, skip_input: 0 })));
});

test('a graph without skip connections is imported for sampling and refused for surgery, not guessed', async () => {
  const imported = await importedFixture('ddpm-unet2d');
  const weight = { dtype: 'float32' as const, shape: [3, 3, 1, 1], data: Float32Array.from({ length: 9 }, (_, i) => (i % 4 === 0 ? 0.5 : 0.1)) };
  const plain: OnnxModel = {
    ...imported.onnx,
    graph: {
      name: 'no-skips',
      inputs: imported.onnx.graph.inputs,
      outputs: imported.onnx.graph.outputs,
      initializers: new Map<string, HostTensor>([['w', weight], ['shape', { dtype: 'int64', shape: [4], data: BigInt64Array.from([-1n, 1n, 1n, 1n]) }], ['scale', { dtype: 'float32', shape: [], data: Float32Array.from([1e-3]) }]]),
      nodes: [
        { opType: 'Conv', name: 'conv', inputs: ['sample', 'w'], outputs: ['h'], attributes: {} },
        { opType: 'Cast', name: 'cast', inputs: ['timestep'], outputs: ['tf'], attributes: { to: 1 } },
        { opType: 'Reshape', name: 'reshape', inputs: ['tf', 'shape'], outputs: ['t4'], attributes: {} },
        { opType: 'Mul', name: 'mul', inputs: ['t4', 'scale'], outputs: ['ts'], attributes: {} },
        { opType: 'Add', name: 'add', inputs: ['h', 'ts'], outputs: ['out_sample'], attributes: {} },
      ],
    },
  };
  await assert.rejects(detect(plain), (error: Error) => error instanceof StructureError && /no skip connections found/.test(error.message));
  const out = join(scratch, 'no-skips-model');
  const record = await importModel({ onnx: writeVariant(plain, join(scratch, 'no-skips')), out });
  assert.match(record.analysis_error!, /no skip connections found/);
  const { importedTarget } = await import('../../src/import/target.js');
  const { generate } = await import('../../src/pipeline/generate.js');
  const { parseAccelFlags } = await import('../../src/accel/config.js');
  const target = importedTarget(openImportedModel(out), 2);
  const sampled = await generate(target, { sampler: 'ddim', steps: 3, n: 2, seed: 0 });
  assert.ok(sampled.images.data.every(Number.isFinite));
  assert.throws(() => target.network(parseAccelFlags({ deepcache: 'every=2' })), /needs the U-Net's skip connections, which import did not find/);
});
