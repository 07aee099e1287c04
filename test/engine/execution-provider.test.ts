import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executionProvider, executionProviderList, providerError, threadsFromEnv } from '../../src/engine/execution-provider.js';

test('HASTEN_EP: cpu by default, cuda and webgpu with the CPU behind them, anything else one clear error', () => {
  assert.equal(executionProvider({}), 'cpu');
  assert.equal(executionProvider({ HASTEN_EP: '' }), 'cpu');
  assert.equal(executionProvider({ HASTEN_EP: 'cuda' }), 'cuda');
  assert.deepEqual(executionProviderList('cpu'), ['cpu']);
  assert.deepEqual(executionProviderList('webgpu'), ['webgpu', 'cpu']);
  assert.throws(() => executionProvider({ HASTEN_EP: 'gpu' }), /HASTEN_EP=gpu: expected one of cpu, cuda, webgpu/);
});

test('HASTEN_ORT_THREADS: unset means the default, a positive integer is taken, anything else refused', () => {
  assert.equal(threadsFromEnv({}), undefined);
  assert.equal(threadsFromEnv({ HASTEN_ORT_THREADS: '1' }), 1);
  for (const bad of ['0', '1.5', 'two']) assert.throws(() => threadsFromEnv({ HASTEN_ORT_THREADS: bad }), /HASTEN_ORT_THREADS=.*positive integer/);
});

test('a session failing on another provider says which and where to look; on the CPU the error is unchanged', () => {
  const original = new Error('Failed to load shared library\nmore');
  assert.equal(providerError(original, 'cpu'), original);
  const wrapped = providerError(original, 'cuda') as Error;
  assert.match(wrapped.message, /^HASTEN_EP=cuda: ONNX Runtime could not run on cuda \(Failed to load shared library\); docs\/scale.md/);
  assert.equal(wrapped.cause, original);
});
