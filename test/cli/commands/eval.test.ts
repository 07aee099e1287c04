import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasten } from '../run-cli.js';

test('eval prints each distance with its spread beside the floor with its spread', async () => {
  const args = ['eval', '--model', 'toy2d', '--sampler', 'euler', '--steps', '3', '--n', '100', '--real-sets', '3'];
  const text = await hasten(...args);
  assert.equal(text.code, 0, text.err.join('\n'));
  assert.match(text.out[0]!, /^SWD \d\.\d+ ± \d\.\d+ \(floor \d\.\d+ ± \d\.\d+\)$/);
  assert.match(text.out[1]!, /^MMD -?[\d.e-]+ ± [\d.e-]+ \(floor -?[\d.e-]+ ± [\d.e-]+\)$/);
  const json = await hasten(...args, '--json');
  const figures = JSON.parse(json.out[0]!);
  assert.equal(figures.real_sets, 3);
  for (const key of ['swd_std', 'swd_floor_std', 'mmd_std', 'mmd_floor_std']) assert.ok(figures[key] > 0, key);
  const one = await hasten('eval', '--model', 'toy2d', '--real-sets', '1');
  assert.equal(one.code, 2);
  assert.match(one.err[0]!, /--real-sets expects an integer >= 2/);
});

test("eval of more images than KID's kernel matrices can hold is refused before any sampling", async () => {
  const started = performance.now();
  const refused = await hasten('eval', '--model', 'shapes', '--n', '1000000');
  assert.equal(refused.code, 2);
  assert.match(refused.err[0]!, /evaluating 1000000 images \(KID's kernel matrices\) would need about [\d.]+ TB of memory/);
  assert.ok(performance.now() - started < 3000, 'at once');
});

test('eval takes --data only for imported models: a hasten model is compared with its own data', async () => {
  const refused = await hasten('eval', '--model', 'shapes', '--data', 'shapes', '--n', '4');
  assert.equal(refused.code, 2);
  assert.deepEqual(refused.err, ["hasten eval: 'shapes' is compared with the data it was trained on (shapes); --data names the data of imported models"]);
});
