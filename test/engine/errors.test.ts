// Error messages: a bad shape is caught while tracing, and the message names the op and the shapes
// involved; a corrupt ONNX file gives a clear error naming the file, not a protobuf stack trace.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grad } from '../../src/engine/autodiff.js';
import { Graph, ShapeError } from '../../src/engine/graph.js';
import type { HostTensor } from '../../src/engine/host-tensor.js';
import * as F from '../../src/engine/ops/index.js';
import { decodeModel, encodeModel } from '../../src/engine/onnx/codec.js';
import { compile } from '../../src/engine/runtime.js';
import { randomTensor } from './gradcheck.js';

/** Asserts that `body` throws a ShapeError whose message matches every pattern. */
function throwsShapeError(body: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(body, (error: unknown) => {
    assert.ok(error instanceof ShapeError, `expected a ShapeError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

describe('shape errors at trace time', () => {
  test('matmul with mismatched inner dimensions', () => {
    const g = new Graph();
    throwsShapeError(() => F.matmul(g.input('a', [2, 3]), g.input('b', [4, 5])), /^matmul:/, /inner dimensions/, /\[2, 3\]/, /\[4, 5\]/);
    throwsShapeError(() => F.matmul(g.input('c', [7, 2, 3]), g.input('d', [6, 3, 5])), /^matmul: batch axes of \[7, 2, 3\] @ \[6, 3, 5\]/, /\[7\] and \[6\] cannot be broadcast/);
    throwsShapeError(() => F.matmul(g.input('e', [3]), g.input('f', [3, 5])), /^matmul:/, /rank/, /\[3\]/);
  });

  test('gemm and linear with mismatched inner dimensions', () => {
    const g = new Graph();
    throwsShapeError(() => F.gemm(g.input('a', [2, 3]), g.input('b', [2, 5]), { transB: true }), /^gemm:/, /\[2, 3\]/, /\[2, 5\]ᵀ/);
    throwsShapeError(() => F.linear(g.input('x', [4, 6]), g.param('w', [8, 5])), /^gemm:/, /\[4, 6\]/, /\[8, 5\]/);
  });

  test('conv2d with a channel mismatch', () => {
    const g = new Graph();
    const x = g.input('x', [1, 3, 8, 8]);
    throwsShapeError(() => F.conv2d(x, g.param('w', [16, 4, 3, 3])), /^conv2d:/, /3 channels/, /expects 4/, /input \[1, 3, 8, 8\]/, /weight \[16, 4, 3, 3\]/);
    throwsShapeError(() => F.conv2d(x, g.param('w2', [16, 3, 3, 3]), undefined, { groups: 2 }), /^conv2d:/, /divisible by groups/, /groups 2/);
    throwsShapeError(() => F.conv2d(x, g.param('w3', [16, 3, 3, 3]), g.param('b3', [8])), /^conv2d:/, /bias \[8\] should be \[16\]/);
    throwsShapeError(() => F.conv2d(x, g.param('w4', [16, 3, 11, 11])), /^conv2d:/, /kernel does not fit/, /\[16, 3, 11, 11\]/);
    throwsShapeError(() => F.conv2d(g.input('flat', [3, 8, 8]), g.param('w5', [16, 3, 3, 3])), /^conv2d:/, /4-D/, /\[3, 8, 8\]/);
  });

  test('convTranspose2d with a channel mismatch or too much output padding', () => {
    const g = new Graph();
    const x = g.input('x', [1, 4, 5, 5]);
    throwsShapeError(() => F.convTranspose2d(x, g.param('w', [3, 2, 3, 3])), /^convTranspose2d:/, /4 channels/, /expects 3/, /\[1, 4, 5, 5\]/);
    throwsShapeError(() => F.convTranspose2d(x, g.param('w2', [4, 2, 3, 3]), undefined, { stride: 2, outputPadding: 2 }), /^convTranspose2d:/, /output padding \[2, 2\]/, /stride \[2, 2\]/);
  });

  test('element-wise ops with shapes that do not broadcast', () => {
    const g = new Graph();
    const a = g.input('a', [2, 3]);
    throwsShapeError(() => F.add(a, g.input('b', [4])), /^add:/, /\[2, 3\] and \[4\]/, /cannot be broadcast/);
    throwsShapeError(() => F.mul(a, g.input('c', [3, 3])), /^mul:/, /\[2, 3\] and \[3, 3\]/);
    throwsShapeError(() => F.where(F.greater(a, 0), a, g.input('d', [2, 2])), /^where:/, /\[2, 3\]/, /\[2, 2\]/);
    throwsShapeError(() => F.broadcastTo(a, [3, 3]), /^broadcastTo:/, /\[2, 3\]/, /\[3, 3\]/);
    throwsShapeError(() => F.add(a, g.input('f64', [2, 3], 'float64')), /^add:/, /dtypes differ/, /float32\[2, 3\]/, /float64\[2, 3\]/);
  });

  test('reshape to a different number of elements', () => {
    const g = new Graph();
    const x = g.input('x', [2, 3, 4]);
    throwsShapeError(() => F.reshape(x, [5, 5]), /^reshape:/, /\[2, 3, 4\]/, /24 elements/, /\[5, 5\]/);
    throwsShapeError(() => F.reshape(x, [5, -1]), /^reshape:/, /\[2, 3, 4\]/, /\[5, -1\]/);
  });

  test('concat of mismatched shapes or dtypes', () => {
    const g = new Graph();
    const a = g.input('a', [2, 3]);
    throwsShapeError(() => F.concat([a, g.input('b', [3, 4])], 0), /^concat:/, /axis 0/, /float32\[2, 3\]/, /float32\[3, 4\]/);
    throwsShapeError(() => F.concat([a, g.input('c', [2, 3, 1])], 1), /^concat:/, /\[2, 3, 1\]/);
    throwsShapeError(() => F.concat([a, g.input('d', [2, 3], 'float64')], 0), /^concat:/, /float64\[2, 3\]/);
  });

  test('groupNorm with groups that do not divide the channels', () => {
    const g = new Graph();
    throwsShapeError(() => F.groupNorm(g.input('x', [2, 6, 4, 4]), 4), /^groupNorm:/, /6 channels/, /\[2, 6, 4, 4\]/, /4 groups/);
  });

  test('other ops name themselves and the shapes', () => {
    const g = new Graph();
    const x = g.input('x', [2, 6]);
    throwsShapeError(() => F.split(x, [2, 3], 1), /^split:/, /\[2, 3\]/, /\[2, 6\]/);
    throwsShapeError(() => F.split(x, [5], 1), /^split:/, /\[5\]/, /\[2, 6\]/);
    throwsShapeError(() => F.chunk(x, 4, 1), /^chunk:/, /\[2, 6\]/, /4 parts/);
    throwsShapeError(() => F.transpose(x, [0, 0]), /^transpose:/, /\[0, 0\]/, /\[2, 6\]/);
    throwsShapeError(() => F.sum(x, 2), /^sum:/, /axis 2/, /rank 2/);
    throwsShapeError(() => F.slice(x, { 1: [4, 2] }), /^slice:/, /\[2, 6\]/, /empty/);
    throwsShapeError(() => F.pad(x, [[1, 1]]), /^pad:/, /\[2, 6\]/);
    throwsShapeError(() => F.attention(g.input('q', [1, 3, 4]), g.input('k', [1, 5, 4]), g.input('v', [1, 6, 4])), /^attention:/, /q \[1, 3, 4\]/, /k \[1, 5, 4\]/, /v \[1, 6, 4\]/);
    throwsShapeError(() => F.avgPool2d(g.input('img', [1, 2, 2, 2]), 3), /^avgPool2d:/, /\[1, 2, 2, 2\]/);
    throwsShapeError(() => F.embedding(g.param('table', [5, 3]), g.input('i', [4], 'int32')), /^embedding:/, /int64/, /int32/);
    throwsShapeError(() => g.param('table', [5, 4]), /parameter 'table'/, /\[5, 4\]/, /\[5, 3\]/);
    throwsShapeError(() => grad(F.mul(x, 2), [x]), /^grad:/, /scalar/, /\[2, 6\]/);
  });

  test('a compiled function reports the shape error, not an ONNX Runtime error', async () => {
    const fn = compile((g, { x }) => ({ y: F.matmul(x!, g.param('w', [5, 2])) }), { params: 'inputs' });
    await assert.rejects(fn.run({ x: randomTensor([3, 4], 1) }), (error: unknown) => {
      assert.ok(error instanceof ShapeError, String(error));
      assert.match(error.message, /^matmul: inner dimensions differ: \[3, 4\] @ \[5, 2\]$/);
      return true;
    });
  });
});

describe('corrupt ONNX files', () => {
  const model = (() => {
    const fn = compile((g, { x }) => ({ y: F.silu(F.linear(x!, g.param('w', [3, 4]), g.param('b', [3]))) }), { params: new Map([['w', randomTensor([3, 4], 2) as HostTensor<'float32'>], ['b', randomTensor([3], 3) as HostTensor<'float32'>]]) });
    return fn.lower({ x: { shape: [2, 4], dtype: 'float32' } }).model;
  })();
  const bytes = encodeModel(model);

  test('the intact model decodes', () => {
    const decoded = decodeModel(bytes, 'good.onnx');
    assert.equal(decoded.graph.nodes.length, model.graph.nodes.length);
  });

  test('random bytes', () => {
    const garbage = Uint8Array.from({ length: 200 }, (_, i) => (i * 193 + 71) % 256);
    assert.throws(() => decodeModel(garbage, 'garbage.onnx'), /^Error: garbage\.onnx: not a valid ONNX model \(.+\)$/);
  });

  test('a truncated file', () => {
    for (const length of [bytes.length - 1, Math.floor(bytes.length / 2), 7]) {
      assert.throws(() => decodeModel(bytes.subarray(0, length), 'cut.onnx'), /^Error: cut\.onnx: (not a valid ONNX model \(.+\)|the ONNX model has no graph)$/, `truncated to ${length} bytes`);
    }
  });

  test('a text file', () => {
    assert.throws(() => decodeModel(new TextEncoder().encode('{"this": "is JSON, not ONNX"}\n'), 'model.json'), /^Error: model\.json: /);
  });

  test('an empty file', () => {
    assert.throws(() => decodeModel(new Uint8Array(0), 'empty.onnx'), /empty\.onnx: the ONNX model has no graph/);
  });

  test('an initializer whose data does not fit its shape', () => {
    const broken = { ...model, graph: { ...model.graph, initializers: new Map([...model.graph.initializers, ['w', { dtype: 'float32', shape: [3, 5], data: new Float32Array(12) } as HostTensor]]) } };
    assert.throws(() => decodeModel(encodeModel(broken), 'bad-init.onnx'), /bad-init\.onnx: initializer 'w': raw data has 48 bytes, shape \[3,5\] of float32 needs 60/);
  });

  test('a flipped byte in the middle either decodes or fails clearly', () => {
    // Protobuf cannot detect every corruption; what matters is that nothing escapes as a raw
    // protobuf or RangeError without naming the file.
    for (let position = 0; position < bytes.length; position += Math.ceil(bytes.length / 97)) {
      const copy = bytes.slice();
      copy[position] = copy[position]! ^ 0xff;
      try {
        decodeModel(copy, 'flipped.onnx');
      } catch (error) {
        assert.match((error as Error).message, /^flipped\.onnx: /, `byte ${position}: ${(error as Error).message}`);
      }
    }
  });
});
