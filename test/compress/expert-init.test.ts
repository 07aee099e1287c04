import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleStudent, studentConfig } from '../../src/compress/assemble.js';
import { expertSources } from '../../src/compress/expert-init.js';
import { netTraceFn } from '../../src/models/network.js';
import { createModel } from '../../src/models/registry.js';
import type { UNet } from '../../src/models/unet.js';
import { maxAbsDiff, randomInputs, randomParams, runOnce } from '../models/helpers.js';

const TINY = { arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 2, attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16 };
const teacher = createModel(TINY) as UNet;
const teacherParams = randomParams(teacher, 1);
const remove = ['dec.1.0', 'dec.0.1.res'];

test('expert init: CLME experts start from the surviving conv and the convs pruned in its stage, scaled by 2/K', () => {
  const { model, params } = assembleStudent(teacher, teacherParams, remove, 'teacher', { layers: ['dec.1.1.res', 'dec.0.2.res'], experts: 3, init: 'clme' });
  assert.deepEqual(expertSources(model, teacherParams, 'dec.1.1.res', 'conv0'), ['dec.1.1.res.conv0', 'dec.1.0.res.conv0']);
  assert.deepEqual(expertSources(model, teacherParams, 'dec.0.2.res', 'conv1'), ['dec.0.2.res.conv1', 'dec.0.1.res.conv1']);
  const experts = params.get('dec.1.1.res.conv0.experts')!;
  const [, outs, ins] = experts.shape as number[];
  const per = experts.data.length / 3;
  const expertK = (k: number): number[] => Array.from(experts.data.slice(k * per, (k + 1) * per) as Float32Array);
  const scaled = (name: string): number[] => Array.from(teacherParams.get(name)!.data as Float32Array, (v) => Math.fround((2 / 3) * v));
  // dec.1.1 and dec.1.0 read the same concatenation (h and a skip of 16 channels each): no shape matching needed.
  assert.deepEqual(teacherParams.get('dec.1.0.res.conv0.weight')!.shape, [outs, ins, 3, 3]);
  assert.deepEqual(expertK(0), scaled('dec.1.1.res.conv0.weight'));
  assert.deepEqual(expertK(1), scaled('dec.1.0.res.conv0.weight'));
  // Expert 2 has no pruned source left: the surviving conv plus a little noise.
  const surviving = scaled('dec.1.1.res.conv0.weight');
  const third = expertK(2);
  const gap = Math.max(...third.map((v, i) => Math.abs(v - surviving[i]!)));
  assert.ok(gap > 0 && gap < 0.5 * Math.max(...surviving.map(Math.abs)), `noise ${gap}`);
  assert.ok([...params.get('dec.1.1.res.conv0.route.weight')!.data].every((v) => v === 0), 'routing starts at 1/2 for every expert');
});

test('expert init: surviving experts reproduce the plain student at the start (up to the noise), random ones do not', async () => {
  const layers = { layers: ['enc.1.0.res'], experts: 2 };
  const plain = assembleStudent(teacher, teacherParams, remove);
  const inputs = randomInputs(plain.model, 2, 3);
  const reference = (await runOnce(netTraceFn(plain.model), plain.params, inputs)).out!;
  const differences: Record<string, number> = {};
  for (const init of ['surviving', 'random'] as const) {
    const student = assembleStudent(teacher, teacherParams, remove, 'teacher', { ...layers, init });
    differences[init] = maxAbsDiff((await runOnce(netTraceFn(student.model), student.params, inputs)).out!, reference);
  }
  assert.ok(differences.surviving! < 0.2 * differences.random!, JSON.stringify(differences));
});

test('expert init: the student config carries the conditional convolutions and refuses a pruned layer', () => {
  const config = studentConfig(teacher.config, remove, { layers: ['dec.1.1.res'], experts: 4, init: 'clme' });
  assert.deepEqual([config.condConvLayers, config.condConvExperts], [['dec.1.1.res'], 4]);
  assert.throws(() => studentConfig(teacher.config, remove, { layers: ['dec.1.0.res'], experts: 2, init: 'clme' }), /'condConvLayers' has 'dec.1.0.res', which 'removedModules' removes/);
});
