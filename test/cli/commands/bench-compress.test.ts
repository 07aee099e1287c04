import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasten } from '../run-cli.js';

test('bench compress: a capacity row that is not one of the methods, or cannot be built, is one clear error', async () => {
  const cases: [string[], RegExp][] = [
    [['--variant', 'condconv'], /^--variant expects METHOD or METHOD=MODEL with METHOD one of student, me-condconv, clme-condconv, full-attention, gri-attention, got 'condconv'/],
    [['--variant', 'gri-attention='], /^--variant gri-attention=: name the model after '='/],
    [['--variant', 'clme-condconv'], /--variant clme-condconv without a model is built from --student, a U-Net/],
    [['--student', 'shapes', '--variant', 'me-condconv'], /--variant me-condconv without a model needs --cond-conv LAYER/],
    [['--variant', 'full-attention'], /--variant full-attention needs a trained model: --variant full-attention=NAME\|PATH/],
    [['--variant', 'gri-attention=shapes'], /--variant gri-attention=shapes: the model does not use GRI attention/],
  ];
  for (const [argv, expected] of cases) {
    const { code, err } = await hasten('bench', 'compress', '--teacher', 'shapes', ...argv);
    assert.equal(code, 2, argv.join(' '));
    assert.equal(err.length, 1, `${argv.join(' ')}: ${err.join(' | ')}`);
    assert.match(err[0]!.replace(/^hasten [a-z ]+: /, ''), expected, argv.join(' '));
  }
});
