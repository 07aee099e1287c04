import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompressError, PRESETS, assembleStudent, neighbourSources, presetRemovals, studentConfig, studentParams } from '../../src/compress/assemble.js';
import { createModel } from '../../src/models/registry.js';
import type { UNet } from '../../src/models/unet.js';
import { randomParams } from '../models/helpers.js';

const TINY = { arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16 };
const teacher = createModel(TINY) as UNet;
const teacherParams = randomParams(teacher, 1);

test('assemble: the student keeps the teacher\'s parameters by name, as copies', () => {
  const { model, params } = assembleStudent(teacher, teacherParams, ['mid.1', 'enc.1.0.attn']);
  assert.deepEqual(model.config.removedModules, ['mid.1', 'enc.1.0.attn']);
  assert.equal(params.size, model.paramShapes().size);
  assert.ok(params.size < teacherParams.size);
  for (const [name, t] of params) {
    assert.deepEqual(t.data, teacherParams.get(name)!.data, name);
    assert.notEqual(t.data, teacherParams.get(name)!.data, `${name} is a copy`);
  }
  assert.ok(![...params.keys()].some((name) => name.startsWith('mid.1.') || name.startsWith('enc.1.0.attn.')));
});

test('assemble: removals add to a teacher that is already a student; bad ones are one CompressError', () => {
  const once = studentConfig(teacher.config, ['mid.1']);
  assert.deepEqual(studentConfig(once, ['dec.0.1']).removedModules, ['mid.1', 'dec.0.1']);
  assert.throws(() => studentConfig(teacher.config, ['enc.1.0']), (e: Error) => e instanceof CompressError && /cannot remove \(removable:/.test(e.message));
  assert.throws(() => studentConfig(teacher.config, []), (e: Error) => e instanceof CompressError && /nothing to remove/.test(e.message));
  assert.throws(() => studentConfig(once, ['mid.1']), (e: Error) => e instanceof CompressError && /'mid.1' twice/.test(e.message));
});

test('assemble: presets pick bypassable blocks of this layout', () => {
  const deeper = createModel({ ...TINY, blocksPerLevel: 2 }) as UNet;
  assert.deepEqual(presetRemovals('bk-base', deeper), ['enc.0.1', 'enc.1.1', 'dec.1.1', 'dec.0.1']);
  assert.deepEqual(presetRemovals('bk-small', deeper).at(-1), 'mid');
  for (const name of Object.keys(PRESETS)) assert.doesNotThrow(() => studentConfig(deeper.config, presetRemovals(name, deeper)), name);
  assert.throws(() => presetRemovals('tiny', deeper), /unknown preset 'tiny' \(presets: bk-base, bk-small\)/);
});

test('assemble: neighbour init starts a kept block from the removed block before it when shapes match', () => {
  const deeper = createModel({ ...TINY, blocksPerLevel: 2 }) as UNet;
  const params = randomParams(deeper, 2);
  const student = createModel(studentConfig(deeper.config, ['dec.1.0', 'enc.0.0', 'dec.0.1'])) as UNet;
  const sources = neighbourSources(deeper, student);
  // Same level and shapes each: dec.1.1 and dec.1.0 take h (16) and a skip (16), dec.0.2 and dec.0.1 h (8) and a skip (8).
  assert.deepEqual([...sources], [['enc.0.1', 'enc.0.0'], ['dec.1.1', 'dec.1.0'], ['dec.0.2', 'dec.0.1']]);
  const unequal = createModel(studentConfig(deeper.config, ['dec.1.2'])) as UNet;
  assert.equal(neighbourSources(deeper, unequal).size, 0, 'dec.1.2 is the last block of its level: nothing after it inherits');
  const inherited = studentParams(deeper, params, student, 'neighbour');
  assert.deepEqual(inherited.get('dec.1.1.res.conv0.weight')!.data, params.get('dec.1.0.res.conv0.weight')!.data);
  assert.deepEqual(inherited.get('dec.1.2.res.conv0.weight')!.data, params.get('dec.1.2.res.conv0.weight')!.data);
  assert.deepEqual(studentParams(deeper, params, student, 'teacher').get('dec.1.1.res.conv0.weight')!.data, params.get('dec.1.1.res.conv0.weight')!.data);
});
