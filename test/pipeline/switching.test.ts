import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleStudent } from '../../src/compress/assemble.js';
import { makeGrid, parseGridSpec } from '../../src/diffusion/grids.js';
import { createModel } from '../../src/models/registry.js';
import type { UNet } from '../../src/models/unet.js';
import { generate } from '../../src/pipeline/generate.js';
import type { TrainedModel } from '../../src/pipeline/model-store.js';
import { SwitchSpecError, describeSwitch, parseSwitch, parseSwitches } from '../../src/pipeline/switching.js';
import { objectiveProcess, objectiveSettings } from '../../src/train/objectives.js';
import { randomParams } from '../models/helpers.js';

const teacherModel = createModel({ arch: 'unet', resolution: 8, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1, attentionResolutions: [4], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 3 }) as UNet;
const config = { objective: objectiveSettings('edm'), dataShape: [3, 8, 8], classNames: null };
const teacher = { name: 'teacher', location: '', model: teacherModel, params: randomParams(teacherModel, 2), config } as unknown as TrainedModel;
const pruned = assembleStudent(teacherModel, teacher.params, ['enc.1.0.attn', 'dec.0.1']);
const student = { ...teacher, name: 'student', model: pruned.model, params: pruned.params } as TrainedModel;
const steps = 6;
const levels = Array.from(makeGrid(objectiveProcess(config.objective), parseGridSpec('karras'), steps)).slice(0, steps);
const run = (main: TrainedModel, switches: { model: TrainedModel; low: number; high: number }[] = []) => generate(main, { sampler: 'ddim', steps, n: 2, seed: 3, switches });

test('switching: a switch over every level is the switched model; one over no level is the main model', async () => {
  const plainTeacher = await run(teacher);
  const plainStudent = await run(student);
  assert.notDeepEqual(plainStudent.images.data, plainTeacher.images.data);
  assert.deepEqual((await run(teacher, [{ model: student, low: 0, high: Infinity }])).images.data, plainStudent.images.data);
  assert.deepEqual((await run(teacher, [{ model: student, low: 1e6, high: Infinity }])).images.data, plainTeacher.images.data);
});

test('switching: the student at high noise, the teacher below; FLOPs are charged to the network that ran', async () => {
  const split = (levels[2]! + levels[3]!) / 2;
  const mixed = await run(teacher, [{ model: student, low: split, high: Infinity }]);
  const teacherFlops = (await run(teacher)).flops;
  const studentFlops = (await run(student)).flops;
  assert.equal(mixed.nfe, steps);
  assert.ok(Math.abs(mixed.flops - (teacherFlops + studentFlops) / 2) < 1e-6 * teacherFlops, `3 of 6 steps each: ${mixed.flops}`);
  assert.notDeepEqual(mixed.images.data, (await run(teacher)).images.data);
  assert.notDeepEqual(mixed.images.data, (await run(student)).images.data);
});

test('switching: a model with other inputs is refused with both names', async () => {
  const otherModel = createModel({ ...teacherModel.config, numClasses: 0 });
  const other = { ...teacher, name: 'unconditional', model: otherModel, params: randomParams(otherModel, 4) } as TrainedModel;
  await assert.rejects(run(teacher, [{ model: other, low: 1, high: Infinity }]), (e: Error) => e instanceof SwitchSpecError && /'teacher' and 'unconditional': 3 classes against 0/.test(e.message));
});

test('--switch syntax: MODEL@sigma>A, MODEL@sigma<B, MODEL@A<sigma<B, comma-separated', () => {
  assert.deepEqual(parseSwitch('student@sigma>2'), { model: 'student', low: 2, high: Infinity });
  assert.deepEqual(parseSwitch('runs/s@x/checkpoint@sigma<0.5'), { model: 'runs/s@x/checkpoint', low: 0, high: 0.5 });
  assert.deepEqual(parseSwitch('small@ 0.1 < sigma < 1e1'), { model: 'small', low: 0.1, high: 10 });
  assert.deepEqual(parseSwitches('a@sigma>2, b@sigma<0.1').map(describeSwitch), ['a@sigma>2', 'b@sigma<0.1']);
  for (const bad of ['student', '@sigma>2', 'student@t>2', 'student@sigma>=2', 'student@3<sigma<1', ' , ']) assert.throws(() => parseSwitches(bad), SwitchSpecError, bad);
});
