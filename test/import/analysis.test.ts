import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeModel } from '../../src/engine/onnx/codec.js';
import { OnnxSession } from '../../src/engine/runtime.js';
import { cachedTensors } from '../../src/import/analysis.js';
import { addOutputs, addSkipScale, cutGraph } from '../../src/import/surgery.js';
import { FIXTURE_NAMES, fixtureDir, importedFixture, references, relativeError } from './fixtures.js';

interface Truth {
  skip_concats: { concat_node: string; skip_operand: string; skip_producer_node: string; hidden_operand: string; skip_shape: (number | string)[] }[];
  boundary: { encoder_output: { tensor: string }; decoder_input: string };
}

const cases = [0, 1, 2];

for (const name of FIXTURE_NAMES) {
  const feedsOf = (refs: Map<string, import('../../src/engine/host-tensor.js').HostTensor>, i: number) => {
    const feeds = { sample: refs.get(`case${i}.sample`)!, timestep: refs.get(`case${i}.timestep`)! };
    const cond = refs.get(`case${i}.encoder_hidden_states`);
    return cond ? { ...feeds, encoder_hidden_states: cond } : feeds;
  };

  test(`${name}: the imported graph reproduces the reference outputs`, async (t) => {
    const imported = await importedFixture(name);
    const refs = references(name);
    const session = await OnnxSession.create(encodeModel(imported.onnx));
    try {
      let worst = 0;
      for (const i of cases) {
        const out = (await session.run(feedsOf(refs, i))).out_sample!;
        const error = relativeError(out.data as Float32Array, refs.get(`case${i}.out_sample`)!.data as Float32Array);
        assert.ok(error <= 1e-4, `case ${i}: relative error ${error}`);
        worst = Math.max(worst, error);
      }
      t.diagnostic(`largest relative error over the cases: ${worst.toExponential(2)}`);
    } finally {
      await session.dispose();
    }
  });

  test(`${name}: the detected structure is exactly structure.json`, async () => {
    const imported = await importedFixture(name);
    const truth = JSON.parse(readFileSync(join(fixtureDir(name), 'structure.json'), 'utf8')) as Truth;
    const { structure } = imported.record.analysis!;
    assert.deepEqual(
      structure.skips.map((s) => ({ concat_node: s.concat_node, skip_operand: s.skip_operand, skip_producer_node: s.skip_producer_node, hidden_operand: s.hidden_operand, channels: s.channels, resolution: s.resolution })),
      truth.skip_concats.map((s) => ({ concat_node: s.concat_node, skip_operand: s.skip_operand, skip_producer_node: s.skip_producer_node, hidden_operand: s.hidden_operand, channels: s.skip_shape[1], resolution: s.skip_shape.slice(2) })),
    );
    assert.deepEqual(structure.boundary, { encoder_output: truth.boundary.encoder_output.tensor, decoder_input: truth.boundary.decoder_input });
  });

  test(`${name}: Skip-Tuning's edit with every factor 0.7 reproduces the skip-scaled reference`, async (t) => {
    const imported = await importedFixture(name);
    const refs = references(name);
    const { structure } = imported.record.analysis!;
    const session = await OnnxSession.create(encodeModel(addSkipScale(imported.onnx, structure, 'batch')));
    try {
      let worst = 0;
      for (const i of cases) {
        const feeds = feedsOf(refs, i);
        const rows = feeds.sample.shape[0]!;
        const skipScale = { dtype: 'float32' as const, shape: [rows, structure.skips.length], data: new Float32Array(rows * structure.skips.length).fill(0.7) };
        const out = (await session.run({ ...feeds, skip_scale: skipScale })).out_sample!;
        const error = relativeError(out.data as Float32Array, refs.get(`case${i}.out_sample_skip0.7`)!.data as Float32Array);
        assert.ok(error <= 1e-4, `case ${i}: relative error ${error}`);
        worst = Math.max(worst, error);
        // and it is a change: the unscaled reference is far
        assert.ok(relativeError(out.data as Float32Array, refs.get(`case${i}.out_sample`)!.data as Float32Array) > 1e-2);
      }
      t.diagnostic(`largest relative error over the cases: ${worst.toExponential(2)}`);
    } finally {
      await session.dispose();
    }
  });

  test(`${name}: every cut graph fed the full graph's cached features gives its output exactly`, async () => {
    const imported = await importedFixture(name);
    const refs = references(name);
    const { structure, shapes, flops, cut_flops: cutFlops } = imported.record.analysis!;
    const withBatch = new Map(Object.entries(shapes).map(([t, s]) => [t, [1, ...s]]));
    const cuts = [cachedTensors(structure, 'encoder-propagation'), ...structure.skips.map((_, b) => cachedTensors(structure, 'deepcache', b))];
    const full = await OnnxSession.create(encodeModel(addOutputs(imported.onnx, [...new Set(cuts.flat())], withBatch, 'batch')));
    try {
      const reference = await full.run(feedsOf(refs, 1));
      for (const given of cuts) {
        const cut = cutGraph(imported.onnx, given, withBatch, 'batch');
        assert.ok(cut.graph.nodes.length < imported.onnx.graph.nodes.length);
        const session = await OnnxSession.create(encodeModel(cut));
        try {
          const feeds = { ...feedsOf(refs, 1), ...reference } as Record<string, import('../../src/engine/host-tensor.js').HostTensor>;
          const out = await session.run(Object.fromEntries(session.inputNames.map((n) => [n, feeds[n]!])));
          assert.deepEqual(out.out_sample!.data, reference.out_sample!.data);
          // Encoder propagation's decoder reads the sample's shape at most (the batch size), never its values.
          if (given.length > 1) assert.ok(cut.graph.nodes.filter((n) => n.inputs.includes('sample')).every((n) => n.opType === 'Shape'));
        } finally {
          await session.dispose();
        }
      }
    } finally {
      await full.dispose();
    }
    assert.equal(flops.encoder + flops.middle + flops.decoder, flops.total);
    assert.equal(cutFlops.encoder_propagation, flops.decoder);
    // DeepCache's branches run more of the network the deeper they are.
    for (let b = 1; b < cutFlops.deepcache.length; b++) assert.ok(cutFlops.deepcache[b]! > cutFlops.deepcache[b - 1]!);
    assert.ok(cutFlops.deepcache.at(-1)! < flops.total);
  });
}
