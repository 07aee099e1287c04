import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { saveSafetensors } from '../../../src/engine/safetensors-file.js';
import { hasten } from '../run-cli.js';
import { fixtureDir, references, scratch } from '../../import/fixtures.js';

const sd = fixtureDir('sd-unet2dcondition');
const out = join(scratch, 'cli-sd');

test('hasten import, inspect and sample on the text-conditioned fixture', async () => {
  const imported = await hasten('import', '--onnx', join(sd, 'model.onnx'), '--scheduler', join(sd, 'scheduler_config.json'), '--out', out);
  assert.equal(imported.code, 0, imported.err.join('\n'));
  assert.match(imported.out.join('\n'), /skips \(graph order, innermost first\): 4/);

  const inspected = await hasten('inspect', '--model', out, '--json');
  assert.equal(inspected.code, 0, inspected.err.join('\n'));
  const report = JSON.parse(inspected.out[0]!) as { skips: { concat_node: string; skip_operand: string; skip_producer_node: string; resolution: number[]; channels: number }[]; boundary: object; flops: Record<string, number> };
  const truth = JSON.parse(readFileSync(join(sd, 'structure.json'), 'utf8')) as { skip_concats: { concat_node: string; skip_operand: string; skip_producer_node: string; skip_shape: number[] }[]; boundary: { encoder_output: { tensor: string }; decoder_input: string } };
  assert.deepEqual(report.skips, truth.skip_concats.map((s) => ({ concat_node: s.concat_node, skip_operand: s.skip_operand, skip_producer_node: s.skip_producer_node, resolution: s.skip_shape.slice(2), channels: s.skip_shape[1] })));
  assert.deepEqual(report.boundary, { encoder_output: truth.boundary.encoder_output.tensor, decoder_input: truth.boundary.decoder_input });
  assert.deepEqual(Object.keys(report.flops), ['encoder', 'middle', 'decoder', 'total']);

  const all = references('sd-unet2dcondition').get('case0.encoder_hidden_states')!;
  const cond = join(scratch, 'cond.safetensors');
  await saveSafetensors(cond, new Map([['encoder_hidden_states', { ...all, shape: [1, 8, 32], data: (all.data as Float32Array).slice(0, 256) }]]));
  const samples = join(scratch, 'samples.safetensors');
  const sampled = await hasten('sample', '--model', out, '--cond-file', cond, '--uncond-file', cond, '--guidance', '2', '--sampler', 'ddim', '--steps', '4', '--n', '2', '--deepcache', 'every=2,branch=0', '--skip-tuning', '0.9', '--out', samples, '--json');
  assert.equal(sampled.code, 0, sampled.err.join('\n'));
  assert.equal(JSON.parse(sampled.out[0]!).nfe, 8);
  assert.ok(existsSync(samples));

  const errors: [string[], RegExp][] = [
    [['sample', '--model', out, '--n', '2', '--out', samples], /pass the conditioning tensors with --cond-file/],
    [['sample', '--model', out, '--n', '2', '--cond-file', cond, '--out', join(scratch, 'x.png')], /4 channels \(latents\?\), which a PNG cannot show/],
    [['sample', '--model', out, '--n', '2', '--cond-file', cond, '--feature-inheritance', 'modules=mid,every=2', '--out', samples], /use --deepcache or --encoder-propagation/],
    [['eval', '--model', out, '--cond-file', cond], /'cli-sd' is an imported model and brings no data to compare its samples with: name the data it was trained on with --data DATASET/],
    [['eval', '--model', out, '--cond-file', cond, '--data', 'shapes'], /--data shapes holds 3x16x16 images, but 'cli-sd' draws 4x16x16 images/],
    [['eval', '--model', out, '--cond-file', cond, '--data', 'toy2d:two-moons'], /--data toy2d:two-moons for 'cli-sd' \(4x16x16 images\): 'toy2d:two-moons' is a dataset of points/],
    [['import', '--onnx', join(sd, 'structure.json'), '--out', join(scratch, 'bad')], /not a valid ONNX model/],
  ];
  for (const [argv, message] of errors) {
    const result = await hasten(...argv);
    assert.equal(result.code, 2, `${argv.join(' ')}: ${result.err.join('\n')}`);
    assert.equal(result.err.length, 1);
    assert.match(result.err[0]!, message);
  }
  const badSchedule = join(scratch, 'bad-scheduler.json');
  writeFileSync(badSchedule, JSON.stringify({ beta_schedule: 'exotic' }));
  const refused = await hasten('import', '--onnx', join(sd, 'model.onnx'), '--scheduler', badSchedule, '--out', join(scratch, 'bad'));
  assert.equal(refused.code, 2);
  assert.match(refused.err[0]!, /unknown beta_schedule 'exotic'/);
});
