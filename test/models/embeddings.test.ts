import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CAPTION_PAD, CAPTION_UNKNOWN, CAPTION_WORDS, tokenizeCaptions } from '../../src/models/embeddings.js';
import { netTraceFn } from '../../src/models/network.js';
import { createModel } from '../../src/models/registry.js';
import { maxAbsDiff, randomInputs, randomParams, runOnce } from './helpers.js';

test('captions: words become ids, unknown words UNKNOWN, the rest PAD; the empty caption is the null caption', () => {
  const tokens = tokenizeCaptions(['Small red triangle, top-left', 'zebra', ''], 6);
  assert.deepEqual(tokens.shape, [3, 6]);
  const id = (word: string): bigint => BigInt(CAPTION_WORDS.indexOf(word) + 2);
  assert.deepEqual([...tokens.data.slice(0, 6)], [id('small'), id('red'), id('triangle'), id('top'), id('left'), BigInt(CAPTION_PAD)]);
  assert.deepEqual([...tokens.data.slice(6, 8)], [BigInt(CAPTION_UNKNOWN), BigInt(CAPTION_PAD)]);
  assert.ok(tokens.data.slice(12).every((t) => t === BigInt(CAPTION_PAD)));
  assert.throws(() => tokenizeCaptions(['a b c d'], 3), /has 4 words; the model takes at most 3 \(captionTokens\)/);
});

test('captions: the caption conditions the output', async () => {
  const model = createModel({ arch: 'mlp', width: 16, embeddingWidth: 16, captionTokens: 4, textWidth: 16 });
  const params = randomParams(model, 1);
  const inputs = randomInputs(model, 2, 2);
  const run = async (captions: string[]) => (await runOnce(netTraceFn(model), params, { ...inputs, caption: tokenizeCaptions(captions, 4) })).out!;
  const red = await run(['red circle', 'red circle']);
  assert.ok(maxAbsDiff(red, await run(['blue circle', 'blue circle'])) > 1e-4);
  assert.ok(maxAbsDiff(red, await run(['', ''])) > 1e-4);
});

test('captions: the vocabulary must fit the token table', () => {
  assert.throws(() => createModel({ arch: 'mlp', captionTokens: 4, textVocabSize: 10 }), /'textVocabSize' \(10\) must be at least the caption vocabulary's/);
});
