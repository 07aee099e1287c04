import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ortWeb from 'onnxruntime-web';
import { webOrt } from '../../src/engine/ort-web.js';
import { currentOrt, useOrt } from '../../src/engine/runtime.js';
import { generate } from '../../src/pipeline/generate.js';
import { loadTrainedModel } from '../../src/pipeline/model-store.js';

test('onnxruntime-web (wasm) gives the samples onnxruntime-node gives, from the same seed', async () => {
  const trained = await loadTrainedModel('shapes');
  const job = { sampler: 'dpmpp-2m', steps: 10, n: 1, seed: 11, classes: [3] };
  const node = currentOrt();
  assert.match(node.name, /onnxruntime-node/);
  const fromNode = await generate(trained, job);
  useOrt(webOrt(ortWeb, { threads: 1 }));
  try {
    assert.match(currentOrt().name, /onnxruntime-web \(wasm, 1 thread\)/);
    const fromWeb = await generate(trained, job);
    assert.equal(fromWeb.nfe, fromNode.nfe);
    let largest = 0;
    for (let i = 0; i < fromNode.images.data.length; i++) largest = Math.max(largest, Math.abs(fromNode.images.data[i]! - fromWeb.images.data[i]!));
    assert.ok(largest <= 1e-4, `max abs difference ${largest}`);
    assert.ok(fromWeb.images.data.some((v) => v !== fromNode.images.data[0]), 'the samples are not constant');
  } finally {
    useOrt(node);
  }
});
