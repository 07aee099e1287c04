import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  CheckpointError,
  checkpointFiles,
  loadCheckpoint,
  saveCheckpoint,
} from '../../src/engine/checkpoint.js';
import { loadParamsInto, underPrefix, withPrefix } from '../../src/engine/checkpoint-format.js';
import { float32, hostTensor, type HostTensor, type ParamTree } from '../../src/engine/host-tensor.js';
import { loadSafetensors, saveSafetensors } from '../../src/engine/safetensors-file.js';

const root = await mkdtemp(join(tmpdir(), 'hasten-checkpoint-'));
after(() => rm(root, { recursive: true, force: true }));

function modelParams(): ParamTree {
  return new Map([
    ['enc.0.weight', float32([2, 3], [1, 2, 3, 4, 5, 6])],
    ['enc.0.bias', float32([2], [0.5, -0.5])],
  ]);
}

function assertCheckpointError(error: unknown, path: string, problem: RegExp): true {
  assert.ok(error instanceof CheckpointError, `expected a CheckpointError, got ${String(error)}`);
  assert.equal(error.path, path);
  assert.ok(error.message.startsWith(`${path}: `), error.message);
  assert.match(error.message, problem);
  return true;
}

test('checkpointFiles: a directory holds checkpoint.*, a file path keeps its stem', () => {
  assert.deepEqual(checkpointFiles('runs/a'), { weights: join('runs/a', 'checkpoint.safetensors'), config: join('runs/a', 'checkpoint.json') });
  assert.deepEqual(checkpointFiles('runs/a/step-100.safetensors'), { weights: 'runs/a/step-100.safetensors', config: 'runs/a/step-100.json' });
  assert.deepEqual(checkpointFiles('runs/a/step-100.json'), { weights: 'runs/a/step-100.safetensors', config: 'runs/a/step-100.json' });
});

test('saves and loads params, config, extra tensors and step; the config is pretty JSON', async () => {
  const directory = join(root, 'run', 'nested');
  const extra = new Map<string, HostTensor>([
    ['ema.enc.0.weight', float32([2, 3], [6, 5, 4, 3, 2, 1])],
    ['counter', hostTensor('int64', [], BigInt64Array.of(12n))],
  ]);
  const config = { channels: [32, 64], attention: true, name: 'tiny' };
  const files = await saveCheckpoint(directory, { params: modelParams(), config, extra, step: 1200 });
  assert.deepEqual(files, checkpointFiles(directory));
  assert.deepEqual((await readdir(directory)).sort(), ['checkpoint.json', 'checkpoint.safetensors']);

  const loaded = await loadCheckpoint(directory);
  assert.deepEqual(loaded.params, modelParams());
  assert.deepEqual(loaded.extra, extra);
  assert.deepEqual(loaded.config, config);
  assert.equal(loaded.step, 1200);

  const configText = await readFile(files.config, 'utf8');
  assert.match(configText, /^\{\n  "format": "hasten-checkpoint",\n/);
  assert.ok(configText.endsWith('}\n'));
  // The weights are plain safetensors that other tools can read; the params keep their names.
  const { tensors } = await loadSafetensors(files.weights);
  assert.deepEqual([...tensors.keys()], ['enc.0.weight', 'enc.0.bias', 'extra/ema.enc.0.weight', 'extra/counter']);
});

test('a step-less checkpoint at a file stem', async () => {
  const location = join(root, 'stem', 'final.safetensors');
  await saveCheckpoint(location, { params: modelParams(), config: {} });
  const loaded = await loadCheckpoint(location);
  assert.equal(loaded.step, undefined);
  assert.equal(loaded.extra.size, 0);
});

test('withPrefix and underPrefix keep several states apart in extra', () => {
  const ema = modelParams();
  const combined = new Map([...withPrefix('ema.', ema), ...withPrefix('other.', new Map([['x', float32([1], [1])]]))]);
  assert.deepEqual(underPrefix('ema.', combined), ema);
});

test('error: missing checkpoint files name the missing file', async () => {
  const directory = join(root, 'absent');
  await assert.rejects(loadCheckpoint(directory), (error) => assertCheckpointError(error, checkpointFiles(directory).config, /file not found/));
  const onlyConfig = join(root, 'only-config');
  const files = await saveCheckpoint(onlyConfig, { params: modelParams(), config: {} });
  await rm(files.weights);
  await assert.rejects(loadCheckpoint(onlyConfig), (error) => assertCheckpointError(error, files.weights, /file not found/));
});

test('error: a truncated weights file', async () => {
  const files = await saveCheckpoint(join(root, 'truncated'), { params: modelParams(), config: {} });
  const bytes = await readFile(files.weights);
  await writeFile(files.weights, bytes.subarray(0, bytes.length - 3));
  await assert.rejects(loadCheckpoint(files.weights), (error) => assertCheckpointError(error, files.weights, /truncated file/));
});

test('error: a config that is not JSON or not ours', async () => {
  const files = await saveCheckpoint(join(root, 'bad-config'), { params: modelParams(), config: {} });
  await writeFile(files.config, '{"format": "hasten-checkpoint", ');
  await assert.rejects(loadCheckpoint(files.config), (error) => assertCheckpointError(error, files.config, /bad checkpoint config: not valid JSON/));
  await writeFile(files.config, '{"model": "unet"}');
  await assert.rejects(loadCheckpoint(files.config), (error) => assertCheckpointError(error, files.config, /not a hasten-checkpoint file/));
});

test('error: weights and config from different saves (a save interrupted between the two files)', async () => {
  const location = join(root, 'torn');
  const files = await saveCheckpoint(location, { params: modelParams(), config: { version: 'old' } });
  const oldConfig = await readFile(files.config);
  await saveCheckpoint(location, { params: modelParams(), config: { version: 'new' } });
  await writeFile(files.config, oldConfig);
  await assert.rejects(loadCheckpoint(location), (error) => assertCheckpointError(error, files.weights, /come from different saves/));
});

test('error: a non-float32 parameter in the weights file', async () => {
  const files = await saveCheckpoint(join(root, 'int-param'), { params: modelParams(), config: {} });
  const { tensors, metadata } = await loadSafetensors(files.weights);
  tensors.set('steps', hostTensor('int32', [1]));
  await saveSafetensors(files.weights, tensors, metadata);
  await assert.rejects(loadCheckpoint(files.weights), (error) => assertCheckpointError(error, files.weights, /parameter 'steps' is int32, expected float32/));
});

test('loadParamsInto returns the tensors in the model order', () => {
  const loaded = new Map([...modelParams()].reverse());
  const params = loadParamsInto(modelParams(), loaded, 'model.safetensors');
  assert.deepEqual([...params.keys()], ['enc.0.weight', 'enc.0.bias']);
  assert.equal(params.get('enc.0.bias'), loaded.get('enc.0.bias'));
});

test('error: missing tensor', () => {
  const loaded = modelParams();
  loaded.delete('enc.0.bias');
  assert.throws(
    () => loadParamsInto(modelParams(), loaded, 'ckpt/model.safetensors'),
    (error) => assertCheckpointError(error, 'ckpt/model.safetensors', /does not fit the model: missing tensor 'enc\.0\.bias'$/),
  );
});

test('error: shape mismatch names expected and found shapes', () => {
  const loaded = modelParams();
  loaded.set('enc.0.weight', float32([3, 2]));
  assert.throws(
    () => loadParamsInto(modelParams(), loaded, 'ckpt/model.safetensors'),
    (error) => assertCheckpointError(error, 'ckpt/model.safetensors', /shape mismatch for 'enc\.0\.weight': expected \[2, 3\], found \[3, 2\]/),
  );
});

test('error: every problem at once, unexpected tensors listed', () => {
  const loaded: Map<string, HostTensor> = modelParams();
  loaded.delete('enc.0.weight');
  loaded.set('enc.0.bias', hostTensor('int32', [2]));
  for (let i = 0; i < 12; i++) loaded.set(`dec.${i}.weight`, float32([1]));
  assert.throws(
    () => loadParamsInto(modelParams(), loaded, 'm.safetensors'),
    (error) =>
      assertCheckpointError(
        error,
        'm.safetensors',
        /missing tensor 'enc\.0\.weight'; dtype mismatch for 'enc\.0\.bias': expected float32, found int32; unexpected tensors 'dec\.0\.weight', .*'dec\.9\.weight' and 2 more$/,
      ),
  );
  loaded.set('enc.0.weight', float32([2, 3]));
  loaded.set('enc.0.bias', float32([2]));
  assert.equal(loadParamsInto(modelParams(), loaded, 'm.safetensors', { allowUnexpected: true }).size, 2);
});

test('loadCheckpoint refuses weights or extra tensors holding NaN or infinity, naming the tensor', async () => {
  for (const [where, bad] of [['params', NaN], ['extra', -Infinity]] as const) {
    const dir = join(root, `non-finite-${where}`);
    const broken = float32([3], [1, 2, bad]);
    const params = where === 'params' ? new Map([...modelParams(), ['enc.1.weight', broken]]) : modelParams();
    await saveCheckpoint(dir, { params, config: { arch: 'x' }, extra: where === 'extra' ? new Map([['ema/enc.1.weight', broken]]) : undefined, step: 3 });
    const name = where === 'params' ? 'enc.1.weight' : 'extra/ema/enc.1.weight';
    await assert.rejects(loadCheckpoint(dir), (error) => assertCheckpointError(error, checkpointFiles(dir).weights, new RegExp(`tensor '${name}' holds 1 non-finite value \\(${bad} at index 2\\)`)));
  }
});
