import { test } from 'node:test';
import * as F from '../../src/engine/ops/index.js';
import { gradCheck, randomTensor } from './gradcheck.js';

test('conv2d gradient', async () => {
  await gradCheck('conv2d', (g, { x, w, b }) => F.conv2d(x!, w!, b!, { padding: 1, stride: 2 }), {
    x: randomTensor([2, 4, 7, 7], 1), w: randomTensor([6, 4, 3, 3], 2), b: randomTensor([6], 3),
  });
});
