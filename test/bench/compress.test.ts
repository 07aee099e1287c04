import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBenchConfig } from '../../src/bench/accel.js';
import { runCompressBench } from '../../src/bench/compress.js';
import { BUILD_DEFAULTS, builtVariant, givenVariant } from '../../src/bench/compress-variants.js';
import { assembleStudent } from '../../src/compress/assemble.js';
import { parseSamplerSpec } from '../../src/diffusion/samplers/index.js';
import type { UNet } from '../../src/models/unet.js';
import type { TrainedModel } from '../../src/pipeline/model-store.js';
import { randomFeatureNet, tinyTeacher } from '../compress/helpers.js';

const teacher = tinyTeacher();
const pruned = assembleStudent(teacher.model as UNet, teacher.params, ['dec.0.up.res', 'mid']);
const student: TrainedModel = { ...teacher, name: 'student', model: pruned.model, params: pruned.params };

test('bench compress: teacher, student, switching and stack rows in the issue\'s format', async () => {
  const featureNet = randomFeatureNet();
  try {
    const result = await runCompressBench(teacher, student, {
      samplers: [{ sampler: parseSamplerSpec('euler'), steps: 4 }], switchAbove: [1e-3, 1e6], stack: [parseBenchConfig('deepcache every=2,branch=0')], stackSwitchBelow: 1,
      n: 3, batch: 3, timingN: 2, repeats: 1,
    }, () => undefined, featureNet);
    assert.deepEqual(result.rows.map((r) => [r.method, r.config]), [
      ['teacher', 'plain'], ['student', 'plain'], ['switching', 'student@sigma>0.001'], ['switching', 'student@sigma>1000000'],
      ['stack', 'deepcache every=2,branch=0'], ['stack', 'deepcache every=2,branch=0 + teacher@sigma<1'],
    ]);
    const [plainTeacher, plainStudent, allStudent, noStudent, stack] = result.rows;
    for (const row of result.rows) {
      assert.deepEqual(Object.keys(row), ['method', 'model', 'config', 'sampler', 'nfe', 'params', 'gflops', 'wall_s', 'speedup', 'cpu_s', 'cpu_speedup', 'flop_speedup', 'flop_speedup_realised', 'fd', 'accuracy']);
      assert.equal(row.nfe, 4);
      assert.ok(Number.isFinite(row.fd) && row.wall_s > 0 && row.speedup > 0 && row.cpu_s > 0 && row.cpu_speedup > 0);
    }
    assert.equal(plainTeacher!.speedup, 1);
    assert.equal(plainTeacher!.flop_speedup, 1);
    assert.equal(plainTeacher!.cpu_speedup, 1);
    assert.ok(plainStudent!.flop_speedup > 1 && plainStudent!.params < plainTeacher!.params);
    assert.ok(Math.abs(allStudent!.gflops - plainStudent!.gflops) < 1e-9, 'a switch below every level runs the student throughout');
    assert.ok(Math.abs(noStudent!.gflops - plainTeacher!.gflops) < 1e-9);
    assert.equal(allStudent!.params, plainTeacher!.params + plainStudent!.params);
    assert.ok(stack!.gflops < plainStudent!.gflops);
  } finally {
    await featureNet.dispose();
  }
});

test('bench compress: capacity rows, built untrained (cost only) or given trained (scored), and mislabelled models refused', async () => {
  const featureNet = randomFeatureNet();
  try {
    const build = { ...BUILD_DEFAULTS, condConvLayers: ['enc.1.0.res'], experts: 2, window: 4, pool: 2 };
    const griTeacher = builtVariant('gri-attention', teacher, student, build).model;
    const variants = [
      builtVariant('me-condconv', teacher, student, build),
      builtVariant('clme-condconv', teacher, student, build),
      givenVariant('gri-attention', { ...griTeacher, name: 'gri' }),
    ];
    const result = await runCompressBench(teacher, undefined, {
      samplers: [{ sampler: parseSamplerSpec('euler'), steps: 2 }], switchAbove: [], variants, n: 3, batch: 3, timingN: 2, repeats: 1,
    }, () => undefined, featureNet);
    assert.equal(result.student, null);
    assert.deepEqual(result.rows.map((r) => [r.method, r.config]), [
      ['teacher', 'plain'],
      ['me-condconv', 'condconv enc.1.0.res K=2 (built untrained: cost only)'],
      ['clme-condconv', 'condconv enc.1.0.res K=2 (built untrained: cost only)'],
      ['gri-attention', 'gri: gri window=4,pool=2'],
    ]);
    const [plain, me, clme, gri] = result.rows;
    for (const row of [me!, clme!]) {
      assert.equal(row.fd, null);
      assert.ok(row.params > student.model.paramCount() && row.gflops > 0 && row.wall_s > 0 && row.nfe === 2);
    }
    assert.ok(Number.isFinite(plain!.fd) && Number.isFinite(gri!.fd) && gri!.fd !== plain!.fd, 'trained rows are scored');
    assert.equal(gri!.params, plain!.params);
  } finally {
    await featureNet.dispose();
  }
  assert.throws(() => givenVariant('gri-attention', teacher), /--variant gri-attention=teacher: the model does not use GRI attention/);
  assert.throws(() => builtVariant('clme-condconv', teacher, student, BUILD_DEFAULTS), /needs --cond-conv/);
  assert.throws(() => builtVariant('full-attention', teacher, student, BUILD_DEFAULTS), /--variant full-attention needs a trained model/);
  await assert.rejects(runCompressBench(teacher, undefined, { stack: [parseBenchConfig('deepcache every=2,branch=0')] }), /switching and stack rows need a student/);
});
