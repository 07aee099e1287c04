// The shared training loop: steps and learning rates, an early stop from `after`, a divergence that
// names the run and the step and changes nothing, and the EMA it keeps.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloneParams, float32, type ParamTree } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { TrainStep } from '../../src/engine/train-step.js';
import { TrainingDiverged, TrainingLoop } from '../../src/engine/training-loop.js';

const start = (): ParamTree => new Map([['w', float32([2], [1, -1])]]);
const loss = new TrainStep(start(), (g, { scale }) => F.mul(F.sum(F.square(g.param('w', [2]))), scale!));
const feeds = (value: number) => ({ scale: float32([], [value]) });

test('training loop: runs to the target, stops early on request, keeps an EMA, refuses a non-finite loss', async () => {
  const loop = new TrainingLoop(loss, { learningRate: (step) => 0.1 / (step + 1), what: 'toy training', advice: 'Try less.', ema: { halfLifeImages: 4, batchSize: 1 } });
  const seen: [number, number][] = [];
  const first = await loop.run(3, () => feeds(1), ({ step, lr }) => void seen.push([step, lr]));
  assert.deepEqual(seen, [[1, 0.1], [2, 0.05], [3, 0.1 / 3]]);
  assert.equal(first.stopped, false);
  assert.ok(first.last!.loss < 2, 'the loss fell');
  const average = cloneParams(loop.ema!);
  assert.notDeepEqual(average.get('w')!.data, loss.params.get('w')!.data, 'the EMA lags the parameters');

  const stopped = await loop.run(10, () => feeds(1), ({ step }) => step === 5);
  assert.equal(stopped.stopped, true);
  assert.equal(loop.step, 5);

  const before = cloneParams(loss.params);
  await assert.rejects(loop.advance(feeds(NaN)), (error) => error instanceof TrainingDiverged && /^toy training diverged at step 5: loss NaN, .*The parameters were not updated\. Try less\.$/.test(error.message));
  assert.deepEqual(loss.params, before);
  assert.equal(loop.step, 5);
  await loss.dispose();
});
