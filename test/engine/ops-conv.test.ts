// Convolution, transposed convolution, average pooling and nearest upsampling: gradient checks of
// every input (data, weight, bias) and forward values against direct loops.

import { describe, test } from 'node:test';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { gradCheck, randomTensor } from './gradcheck.js';
import { assertClose, avgPool2dRef, conv2dRef, convTranspose2dRef, forward, upsampleNearestRef } from './reference.js';

type Pair = [number, number];
const asPair = (v: number | Pair | undefined, fallback: number): Pair => (v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : v);

interface ConvCase {
  label: string;
  x: number[];
  w: number[];
  bias?: boolean;
  stride?: number | Pair;
  padding?: number | Pair;
  dilation?: number | Pair;
  groups?: number;
}

const CONV_CASES: ConvCase[] = [
  { label: '3x3, padding 1', x: [2, 4, 7, 7], w: [6, 4, 3, 3], bias: true, padding: 1 },
  { label: 'stride 2, padding 1', x: [2, 3, 7, 8], w: [5, 3, 3, 3], bias: true, stride: 2, padding: 1 },
  { label: 'stride 3 leaving rows and columns unused', x: [1, 3, 8, 10], w: [4, 3, 3, 3], bias: true, stride: 3 },
  { label: 'dilation 2', x: [2, 3, 8, 8], w: [4, 3, 3, 3], dilation: 2, padding: 2 },
  { label: 'dilation 2 with stride 2', x: [1, 2, 9, 10], w: [3, 2, 3, 3], bias: true, dilation: 2, stride: 2, padding: 1 },
  { label: 'groups 2', x: [2, 4, 6, 6], w: [6, 2, 3, 3], bias: true, groups: 2, padding: 1 },
  { label: 'groups 2 with stride 2 and dilation 2', x: [1, 6, 9, 9], w: [4, 3, 3, 3], groups: 2, stride: 2, dilation: 2, padding: 2 },
  { label: 'depthwise', x: [2, 4, 6, 6], w: [4, 1, 3, 3], bias: true, groups: 4, padding: 1 },
  { label: 'depthwise with channel multiplier 2', x: [1, 3, 5, 5], w: [6, 1, 3, 3], groups: 3, padding: 1, stride: 2 },
  { label: '1x1', x: [2, 4, 5, 5], w: [6, 4, 1, 1], bias: true },
  { label: '1x1 with stride 2', x: [2, 4, 5, 5], w: [3, 4, 1, 1], stride: 2 },
  { label: 'non-square kernel, stride, padding and dilation', x: [2, 3, 7, 9], w: [4, 3, 3, 2], bias: true, stride: [2, 1], padding: [1, 0], dilation: [1, 2] },
  { label: '5x5 kernel, padding 2', x: [1, 2, 6, 6], w: [3, 2, 5, 5], bias: true, padding: 2 },
];

// A few random configurations from a seeded generator, so the checks range beyond hand-picked shapes.
function randomConvCases(count: number, seed: number): ConvCase[] {
  let state = seed;
  const int = (lo: number, hi: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return lo + Math.floor((state / 2147483648) * (hi - lo + 1));
  };
  const cases: ConvCase[] = [];
  while (cases.length < count) {
    const groups = int(1, 3);
    const cin = groups * int(1, 2);
    const cout = groups * int(1, 2);
    const kh = int(1, 4);
    const kw = int(1, 4);
    const stride: Pair = [int(1, 3), int(1, 3)];
    const dilation: Pair = [int(1, 2), int(1, 2)];
    const padding: Pair = [int(0, kh - 1), int(0, kw - 1)];
    const h = int(4, 9);
    const w = int(4, 9);
    if (h + 2 * padding[0] < dilation[0] * (kh - 1) + 1 || w + 2 * padding[1] < dilation[1] * (kw - 1) + 1) continue;
    cases.push({ label: `random #${cases.length}`, x: [int(1, 2), cin, h, w], w: [cout, cin / groups, kh, kw], bias: int(0, 1) === 1, stride, padding, dilation, groups });
  }
  return cases;
}

describe('conv2d', () => {
  for (const c of [...CONV_CASES, ...randomConvCases(6, 7)]) {
    const options = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    const describeCase = `${c.label}: x [${c.x}], w [${c.w}], ${JSON.stringify(options)}`;
    test(describeCase, async () => {
      const x = randomTensor(c.x, 1);
      const w = randomTensor(c.w, 2);
      const b = c.bias ? randomTensor([c.w[0]!], 3) : undefined;
      const inputs: Record<string, HostTensor> = b ? { x, w, b } : { x, w };
      await gradCheck(`conv2d ${c.label}`, (g, t) => F.conv2d(t.x!, t.w!, t.b, options), inputs);
      const expected = conv2dRef(x, w, b, { stride: asPair(c.stride, 1), padding: asPair(c.padding, 0), dilation: asPair(c.dilation, 1), groups: c.groups ?? 1 });
      assertClose(await forward((g, t) => F.conv2d(t.x!, t.w!, t.b, options), inputs), expected.shape, expected.data, 1e-4, `conv2d ${c.label} forward`);
    });
  }

  test('conv2d inside a composite (conv -> silu -> conv with a shared weight)', () =>
    gradCheck('conv2d chain', (g, { x, w }) => F.conv2d(F.silu(F.conv2d(x!, w!, undefined, { padding: 1 })), w!, undefined, { stride: 2 }), {
      x: randomTensor([1, 3, 6, 6], 4), w: randomTensor([3, 3, 3, 3], 5),
    }));
});

interface ConvTransposeCase extends ConvCase {
  outputPadding?: number | Pair;
}

const CONV_TRANSPOSE_CASES: ConvTransposeCase[] = [
  { label: 'stride 1, padding 1', x: [2, 3, 4, 4], w: [3, 4, 3, 3], bias: true, padding: 1 },
  { label: 'stride 2, padding 1, output padding 1', x: [2, 4, 4, 5], w: [4, 3, 3, 3], bias: true, stride: 2, padding: 1, outputPadding: 1 },
  { label: 'stride 2, kernel 4 (exact 2x upsampling)', x: [1, 3, 3, 3], w: [3, 2, 4, 4], stride: 2, padding: 1 },
  { label: 'groups 2, stride 2, output padding 1', x: [1, 4, 3, 4], w: [4, 2, 3, 3], bias: true, groups: 2, stride: 2, padding: 1, outputPadding: 1 },
  { label: 'stride 3, dilation 2', x: [1, 2, 3, 3], w: [2, 3, 3, 3], stride: 3, dilation: 2, padding: 1, outputPadding: [2, 1] },
  { label: 'depthwise', x: [2, 3, 4, 4], w: [3, 1, 3, 3], bias: true, groups: 3, stride: 2, outputPadding: 1 },
  { label: 'non-square kernel and stride', x: [1, 2, 3, 4], w: [2, 3, 2, 3], stride: [2, 1], padding: [0, 1], outputPadding: [1, 0] },
  { label: 'dilation 2, stride 2, output padding 1', x: [1, 2, 4, 4], w: [2, 2, 3, 3], dilation: 2, stride: 2, outputPadding: 1 },
];

describe('convTranspose2d', () => {
  for (const c of CONV_TRANSPOSE_CASES) {
    const options = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, outputPadding: c.outputPadding };
    test(`${c.label}: x [${c.x}], w [${c.w}], ${JSON.stringify(options)}`, async () => {
      const x = randomTensor(c.x, 11);
      const w = randomTensor(c.w, 12);
      const b = c.bias ? randomTensor([c.w[1]! * (c.groups ?? 1)], 13) : undefined;
      const inputs: Record<string, HostTensor> = b ? { x, w, b } : { x, w };
      await gradCheck(`convTranspose2d ${c.label}`, (g, t) => F.convTranspose2d(t.x!, t.w!, t.b, options), inputs);
      const expected = convTranspose2dRef(x, w, b, {
        stride: asPair(c.stride, 1), padding: asPair(c.padding, 0), dilation: asPair(c.dilation, 1), groups: c.groups ?? 1, outputPadding: asPair(c.outputPadding, 0),
      });
      assertClose(await forward((g, t) => F.convTranspose2d(t.x!, t.w!, t.b, options), inputs), expected.shape, expected.data, 1e-4, `convTranspose2d ${c.label} forward`);
    });
  }
});

describe('avgPool2d', () => {
  const CASES: { label: string; x: number[]; kernel: number | Pair; stride?: number | Pair; padding?: number | Pair }[] = [
    { label: 'kernel 2', x: [2, 3, 6, 6], kernel: 2 },
    { label: 'kernel 2 on odd sizes', x: [1, 2, 7, 5], kernel: 2 },
    { label: 'kernel 3, stride 2, padding 1', x: [2, 3, 7, 7], kernel: 3, stride: 2, padding: 1 },
    { label: 'kernel 3, stride 2, padding 1 on even sizes', x: [1, 2, 8, 6], kernel: 3, stride: 2, padding: 1 },
    { label: 'kernel 3, stride 1, padding 1', x: [1, 2, 5, 5], kernel: 3, stride: 1, padding: 1 },
    { label: 'non-square kernel', x: [1, 2, 6, 7], kernel: [2, 3], stride: [2, 1] },
  ];
  for (const c of CASES) {
    test(c.label, async () => {
      const x = randomTensor(c.x, 21);
      const options = { stride: c.stride, padding: c.padding };
      await gradCheck(`avgPool2d ${c.label}`, (g, t) => F.avgPool2d(t.x!, c.kernel, options), { x });
      const kernel = asPair(c.kernel, 1);
      const expected = avgPool2dRef(x, kernel, c.stride === undefined ? kernel : asPair(c.stride, 1), asPair(c.padding, 0));
      assertClose(await forward((g, t) => F.avgPool2d(t.x!, c.kernel, options), { x }), expected.shape, expected.data, 1e-5, `avgPool2d ${c.label} forward`);
    });
  }
});

describe('upsampleNearest2d', () => {
  for (const scale of [2, 3]) {
    test(`scale ${scale}`, async () => {
      const x = randomTensor([2, 3, 3, 4], 31);
      await gradCheck('upsampleNearest2d', (g, t) => F.upsampleNearest2d(t.x!, scale), { x });
      const expected = upsampleNearestRef(x, scale);
      assertClose(await forward((g, t) => F.upsampleNearest2d(t.x!, scale), { x }), expected.shape, expected.data, 0, 'upsample forward');
    });
  }
});
