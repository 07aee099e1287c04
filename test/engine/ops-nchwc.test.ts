// Convolutions lowered onto ONNX Runtime's NCHWc kernels: forward values, input gradients and
// weight gradients equal the portable lowering of the same graph, on shapes that take each path
// (blocked and NCHW inputs, padded output channels, batches below, at and above a block, strides,
// dilation); finite-difference checks of the gradients through the NCHWc lowering, second-order
// gradients included.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grad } from '../../src/engine/autodiff.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { lowerToOnnx } from '../../src/engine/onnx/lower.js';
import { OnnxSession, nchwcBlockSize, traceFunction } from '../../src/engine/runtime.js';
import { gradCheck, randomTensor } from './gradcheck.js';

interface Case {
  label: string;
  x: number[];
  w: number[];
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  weightGradConvs?: number; // NCHWc convolutions the weight gradient takes, where a case is about that
}

// With a block of 16 (AVX-512) or 8 (AVX2) these cover: blocked input, an NCHW input of fewer
// channels than a block, output channels padded to a block, a batch below a block, a batch that is
// padded up to whole blocks, stride 2 (input gradient through ConvTranspose), dilation, output and
// input channels that are not whole groups of 4, groups of whole blocks, the 1x1 weight gradient as
// a product and a weight gradient split over the batch.
const CASES: Case[] = [
  { label: '3x3 blocked', x: [16, 16, 8, 8], w: [16, 16, 3, 3], padding: 1 },
  { label: 'few input channels, padded outputs', x: [3, 3, 6, 7], w: [20, 3, 3, 3], padding: 1 },
  { label: 'batch above a block', x: [17, 16, 5, 5], w: [8, 16, 3, 3], padding: 1 },
  { label: 'stride 2', x: [4, 32, 9, 9], w: [16, 32, 3, 3], stride: 2, padding: 1 },
  { label: 'dilation 2', x: [2, 16, 9, 9], w: [12, 16, 3, 3], dilation: 2, padding: 2 },
  { label: '1x1 (the weight gradient one batched product)', x: [5, 32, 4, 4], w: [16, 32, 1, 1], weightGradConvs: 0 },
  { label: 'a batch whose weight-gradient filter is too large for one convolution (one per half of the batch)', x: [32, 4, 24, 24], w: [128, 4, 3, 3], padding: 1, weightGradConvs: 2 },
  { label: 'output channels not whole groups of 4 (an image output)', x: [4, 16, 6, 6], w: [3, 16, 3, 3], padding: 1 },
  { label: 'input channels not whole groups of 4 (the input gradient pads them)', x: [2, 6, 5, 5], w: [16, 6, 3, 3], padding: 1 },
  { label: 'groups of whole blocks (a batch folded into groups), one NCHWc conv per group', x: [2, 48, 6, 6], w: [24, 16, 3, 3], padding: 1, groups: 3 },
];

async function runLowered(c: Case, nchwcBlock: number, inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const spec = (t: HostTensor) => ({ shape: [...t.shape], dtype: t.dtype });
  const { graph, outputs } = traceFunction((g, { x, w, b, r }) => {
    const y = F.conv2d(x!, w!, b!, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
    const loss = F.sum(F.mul(y, r!));
    const [dx, dw, db] = grad(loss, [x!, w!, b!]);
    return { y, dx: dx!, dw: dw!, db: db! };
  }, Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, spec(t)])));
  const model = lowerToOnnx(graph, outputs, { params: 'inputs', nchwcBlock });
  assert.equal(model.graph.nodes.some((n) => n.domain === 'com.microsoft.nchwc'), nchwcBlock > 0);
  // On NCHWc every weight gradient of groups 1 is one convolution, not the portable MatMul per kernel offset.
  if (nchwcBlock > 0 && (c.groups ?? 1) === 1) assert.ok(!model.graph.nodes.some((n) => n.opType === 'MatMul'), `${c.label}: weight gradient not on NCHWc`);
  if (nchwcBlock === 16 && c.weightGradConvs !== undefined) {
    assert.equal(model.graph.nodes.filter((n) => n.opType === 'Conv' && n.name?.includes('conv2dWeightGrad')).length, c.weightGradConvs, `${c.label}: weight-gradient convolutions`);
  }
  const session = await OnnxSession.create(model);
  const result = await session.run(inputs);
  await session.dispose();
  return result;
}

describe('NCHWc lowering of convolutions', async () => {
  const block = await nchwcBlockSize();

  test('the block size is one the kernels use', () => {
    assert.ok([0, 8, 16].includes(block), `block ${block}`);
  });

  for (const c of CASES) {
    test(`${c.label}: equals the portable lowering`, { skip: block === 0 && 'no NCHWc kernels on this machine' }, async () => {
      const x = randomTensor(c.x, 1);
      const w = randomTensor(c.w, 2);
      const b = randomTensor([c.w[0]!], 3);
      const ho = Math.floor((c.x[2]! + 2 * (c.padding ?? 0) - (c.dilation ?? 1) * (c.w[2]! - 1) - 1) / (c.stride ?? 1)) + 1;
      const wo = Math.floor((c.x[3]! + 2 * (c.padding ?? 0) - (c.dilation ?? 1) * (c.w[3]! - 1) - 1) / (c.stride ?? 1)) + 1;
      const r = randomTensor([c.x[0]!, c.w[0]!, ho, wo], 4);
      const inputs = { x, w, b, r };
      const portable = await runLowered(c, 0, inputs);
      const blocked = await runLowered(c, block, inputs);
      for (const name of ['y', 'dx', 'dw', 'db']) {
        const expected = portable[name]!.data as Float32Array;
        const actual = blocked[name]!.data as Float32Array;
        assert.deepEqual(blocked[name]!.shape, portable[name]!.shape, name);
        let scale = 0;
        let error = 0;
        expected.forEach((v, i) => {
          scale = Math.max(scale, Math.abs(v));
          error = Math.max(error, Math.abs(v - actual[i]!));
        });
        assert.ok(error <= 1e-5 * Math.max(1, scale), `${c.label}: ${name} differs by ${error} (scale ${scale})`);
      }
    });
  }

  test('gradients through the NCHWc lowering match finite differences', () =>
    gradCheck('conv2d on NCHWc', (g, t) => F.silu(F.conv2d(t.x!, t.w!, t.b, { padding: 1 })), {
      x: randomTensor([2, 16, 5, 5], 5), w: randomTensor([16, 16, 3, 3], 6), b: randomTensor([16], 7),
    }, { eps: 1e-2, tolerance: 3e-2 }));

  test('second-order gradients (the weight gradient differentiated again) match finite differences', () =>
    gradCheck('weight gradient of conv2d', (g, t) => {
      const y = F.conv2d(t.x!, t.w!, undefined, { padding: 1 });
      const [dw] = grad(F.sum(F.mul(y, y)), [t.w!]);
      return dw!;
    }, { x: randomTensor([2, 16, 4, 4], 8), w: randomTensor([16, 16, 3, 3], 9) }, { eps: 1e-2, tolerance: 3e-2 }));
});
