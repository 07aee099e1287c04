// The JavaScript peers of `hasten bench engine` (devDependencies @tensorflow/tfjs,
// @tensorflow/tfjs-backend-wasm, @jax-js/jax). Slow (minutes): skipped unless HASTEN_BENCH_PEERS=1.
//   HASTEN_BENCH_PEERS=1 node --test dist/test/bench/peers.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WORKLOAD, workloadForward, workloadParamShapes } from '../../src/bench/engine-workload.js';
import * as jaxPeer from '../../src/bench/peers/jax.js';
import * as tfjsPeer from '../../src/bench/peers/tfjs.js';
import type { ParamTree } from '../../src/engine/host-tensor.js';
import { compile } from '../../src/engine/runtime.js';

const skip = process.env.HASTEN_BENCH_PEERS === '1' ? false : 'slow: set HASTEN_BENCH_PEERS=1';

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('peers compute the engine reference workload: same outputs for the same parameters', { skip }, async () => {
  const batch = 2;
  const params = tfjsPeer.randomWorkloadParams(7);
  const x = tfjsPeer.randomNchw(batch, 8);
  const tree: ParamTree = new Map([...params].map(([name, data]) => [name, { dtype: 'float32' as const, shape: workloadParamShapes().get(name)!, data }]));
  const engine = compile((g, inputs) => ({ y: workloadForward(g, inputs.x!) }), { params: tree });
  const r = WORKLOAD.resolution;
  const reference = (await engine.run({ x: { dtype: 'float32', shape: [batch, WORKLOAD.imageChannels, r, r], data: x } })).y!;
  await engine.dispose();
  assert.deepEqual(reference.shape, [batch, WORKLOAD.imageChannels, r, r]);
  const expected = reference.data as Float32Array;
  const scale = Math.max(...expected.map(Math.abs));
  for (const [name, out] of [
    ['tfjs wasm', await tfjsPeer.forwardNchw(params, x, batch, 'wasm')],
    ['tfjs cpu', await tfjsPeer.forwardNchw(params, x, batch, 'cpu')],
    ['jax-js', await jaxPeer.forwardNchw(params, x, batch)],
  ] as const) {
    const diff = maxAbsDiff(out, expected);
    assert.ok(diff <= 1e-4 * scale, `${name}: max |difference| ${diff} from the engine (outputs up to ${scale})`);
  }
});

for (const [name, peer] of [['tfjs', tfjsPeer], ['jax-js', jaxPeer]] as const) {
  test(`${name} peer measures forward and training throughput`, { skip }, async () => {
    const result = await peer.measure({ forwardRepeats: 3, trainRepeats: 2, timeBudgetS: 150 });
    console.log(name, JSON.stringify(result));
    assert.ok(result.forward_gflops > 0 && Number.isFinite(result.forward_gflops));
    assert.ok(result.train_gflops === null || (result.train_gflops > 0 && Number.isFinite(result.train_gflops)));
    assert.ok(result.notes.length > 0);
  });
}
