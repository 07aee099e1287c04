import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { decodePng } from '../../../src/data/image-io.js';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OnnxSession, compile } from '../../../src/engine/runtime.js';
import { netTraceFn } from '../../../src/models/network.js';
import { loadTrainedModel } from '../../../src/pipeline/model-store.js';
import { hasten } from '../run-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('train then sample through the CLI', async () => {
  const run = join(scratch, 'moons');
  const trained = await hasten('train', '--data', 'toy2d:two-moons', '--arch', 'mlp', '--arch-config', '{"width":32,"depth":1}', '--steps', '3', '--batch', '16', '--out', run, '--json');
  assert.equal(trained.code, 0, trained.err.join('\n'));
  assert.equal(JSON.parse(trained.out[0]!).step, 3);
  const png = join(scratch, 'moons.png');
  const sampled = await hasten('sample', '--model', run, '--sampler', 'heun', '--steps', '5', '--n', '50', '--out', png, '--json');
  assert.equal(sampled.code, 0, sampled.err.join('\n'));
  const summary = JSON.parse(sampled.out[0]!);
  assert.equal(summary.nfe, 9, 'Heun with 5 steps costs 2*5-1 evaluations');
  assert.ok(summary.wall_s > 0);
  assert.ok(existsSync(png));
});

const usageErrors: [string, string[], RegExp][] = [
  ['unknown sampler', ['sample', '--model', 'toy2d', '--sampler', 'warp', '--out', 'a.png'], /unknown sampler 'warp'/],
  ['missing model', ['sample', '--model', '/nonexistent/model', '--out', 'a.png'], /no model '\/nonexistent\/model'/],
  ['bad number', ['sample', '--model', 'toy2d', '--steps', 'ten', '--out', 'a.png'], /--steps expects an integer >= 1, got 'ten'/],
  ['missing output', ['sample', '--model', 'toy2d'], /--out FILE.png is required/],
  ['unknown dataset', ['train', '--data', 'mnist', '--out', 'o'], /unknown dataset|mnist/],
  ['unknown objective', ['train', '--data', 'toy2d:two-moons', '--arch', 'mlp', '--objective', 'gan', '--out', 'o'], /unknown objective 'gan'/],
  ['unknown flag', ['train', '--data', 'shapes', '--speed', 'fast'], /Unknown option '--speed'/],
  ['class on an unlabelled dataset', ['train', '--data', 'toy2d:checkerboard', '--arch', 'mlp', '--cond', 'class', '--out', 'o'], /has no class labels/],
  ['JPEG output name', ['sample', '--model', 'toy2d', '--out', join(scratch, 'grid.jpg')], /--out: '.*grid\.jpg': this command writes \.png or \.safetensors files, not \.jpg/],
  ['output in a missing folder', ['sample', '--model', 'toy2d', '--out', '/nonexistent-folder/grid.png'], /the folder \/nonexistent-folder does not exist/],
  ['output that is a folder', ['sample', '--model', 'toy2d', '--out', scratch], /this command writes \.png or \.safetensors files/],
  ['plot in a missing folder', ['bench', 'samplers', '--plot', '/nonexistent-folder/chart.svg'], /--plot: .* the folder \/nonexistent-folder does not exist/],
  ['empty class name', ['sample', '--model', 'toy2d', '--class', '0,,1', '--out', join(scratch, 'c.png')], /--class: '0,,1' holds an empty class name/],
  ['extra argument', ['sample', '--model', 'toy2d', 'stray', '--out', join(scratch, 'c.png')], /unexpected argument 'stray'/],
  ['repeated accel flag', ['sample', '--model', 'shapes', '--deepcache', 'every=2', '--deepcache', 'every=3', '--out', join(scratch, 'c.png')], /--deepcache is given twice \('every=2' and 'every=3'\): give it once/],
  ['negative steps', ['sample', '--model', 'toy2d', '--steps', '-3', '--out', join(scratch, 'c.png')], /--steps expects an integer >= 1, got '-3'/],
];

for (const [what, argv, message] of usageErrors) {
  test(`CLI: ${what} is one line and exit code 2`, async () => {
    const { code, err } = await hasten(...argv);
    assert.equal(code, 2);
    assert.equal(err.length, 1, `expected one line, got ${JSON.stringify(err)}`);
    assert.match(err[0]!, message);
    assert.doesNotMatch(err[0]!, /\n\s+at /, 'no stack trace');
  });
}

test('sample --scale magnifies the grid; a folder of PNG name is refused before sampling', async () => {
  const plain = join(scratch, 'plain.png');
  const scaled = join(scratch, 'scaled.png');
  const args = ['sample', '--model', 'shapes', '--steps', '1', '--sampler', 'euler', '--n', '2', '--out'];
  assert.equal((await hasten(...args, plain)).code, 0);
  const result = await hasten(...args, scaled, '--scale', '3');
  assert.equal(result.code, 0, result.err.join('\n'));
  assert.match(result.out[0]!, /^wrote 2 samples to .* \(1 network evaluation each, /);
  const size = (file: string) => { const png = decodePng(readFileSync(file)); return [png.width, png.height]; };
  assert.deepEqual(size(plain), [2 * 34 + 2, 36]);
  assert.deepEqual(size(scaled), [2 * 98 + 2, 100]);
  mkdirSync(join(scratch, 'folder.png'));
  const started = performance.now();
  const refused = await hasten(...args, join(scratch, 'folder.png'));
  assert.equal(refused.code, 2);
  assert.match(refused.err[0]!, /folder\.png' is a folder; name a file in it/);
  assert.ok(performance.now() - started < 1000, 'before any sampling');
});

test('export writes a shipping checkpoint and a standalone ONNX file with a dynamic batch axis that reproduces the network', async () => {
  const run = join(scratch, 'export-src');
  assert.equal((await hasten('train', '--data', 'toy2d:two-moons', '--arch', 'mlp', '--arch-config', '{"width":16,"depth":1}', '--cond', 'class', '--steps', '2', '--batch', '8', '--out', run)).code, 0);
  const out = join(scratch, 'exported');
  const exported = await hasten('export', '--model', run, '--out', out, '--onnx', '--json');
  assert.equal(exported.code, 0, exported.err.join('\n'));
  assert.deepEqual(JSON.parse(exported.out[0]!).files, ['checkpoint.safetensors', 'checkpoint.json', 'model.onnx'].map((file) => join(out, file)));
  const trained = await loadTrainedModel(out);
  const feedsOf = (rows: number) => ({
    x: { dtype: 'float32' as const, shape: [rows, 2], data: Float32Array.of(0.1, -0.2, 0.5, 0.3, -1, 2).slice(0, 2 * rows) },
    noise: { dtype: 'float32' as const, shape: [rows], data: Float32Array.of(-1, 0, 0.5).slice(0, rows) },
    label: { dtype: 'int64' as const, shape: [rows], data: BigInt64Array.of(0n, 1n, 2n).slice(0, rows) },
  });
  const session = await OnnxSession.create(new Uint8Array(readFileSync(join(out, 'model.onnx'))));
  const reference = compile(netTraceFn(trained.model), { params: trained.params });
  for (const rows of [3, 1]) {
    const standalone = (await session.run(feedsOf(rows))).out!.data as Float32Array;
    assert.deepEqual(standalone, (await reference.run(feedsOf(rows))).out!.data as Float32Array, `batch ${rows}`);
  }
  await session.dispose();
  await reference.dispose();
  const refused = await hasten('export', '--model', run, '--out', join(scratch, 'not-written'), '--batch', '2');
  assert.equal(refused.code, 2);
  assert.match(refused.err[0]!, /--batch shapes the ONNX file: give it with --onnx/);
  assert.ok(!existsSync(join(scratch, 'not-written')), 'refused before anything is written');
});

test('train: a folder holding a run needs --resume or --overwrite; --resume keeps the saved target and settings', async () => {
  const run = join(scratch, 'resumed');
  const base = ['train', '--data', 'toy2d:two-moons', '--arch', 'mlp', '--arch-config', '{"width":16,"depth":1}', '--batch', '8', '--lr-decay', 'cosine', '--out', run, '--json'];
  assert.equal((await hasten(...base, '--steps', '4')).code, 0);
  const again = await hasten(...base, '--steps', '4');
  assert.equal(again.code, 2);
  assert.match(again.err[0]!, /already holds a training run \(checkpoint\): continue it with --resume, or replace it with --overwrite/);
  // Without --steps the saved target (4), not the default 1000.
  const resumed = await hasten('train', '--resume', '--out', run, '--json');
  assert.equal(resumed.code, 0, resumed.err.join('\n'));
  assert.deepEqual([JSON.parse(resumed.out[0]!).step, JSON.parse(resumed.out[0]!).steps], [4, 4]);
  const extended = await hasten('train', '--resume', '--out', run, '--steps', '6', '--batch', '8', '--json');
  assert.equal(JSON.parse(extended.out[0]!).step, 6, extended.err.join('\n'));
  const changed = await hasten('train', '--resume', '--out', run, '--lr', '0.5', '--arch-config', '{}');
  assert.equal(changed.code, 2);
  assert.match(changed.err[0]!, /--lr 0\.5 \(saved 0\.001\) differs from the saved run; --arch-config cannot change in a resumed run\. With --resume only --steps and --checkpoint-every may change/);
  const replaced = await hasten(...base, '--steps', '2', '--overwrite');
  assert.equal(JSON.parse(replaced.out[0]!).step, 2, replaced.err.join('\n'));
  const twice = await hasten(...base, '--steps', '2', '--steps', '3');
  assert.match(twice.err[0]!, /--steps is given twice \('2' and '3'\): give it once/);
});

test('Ctrl-C during training saves a checkpoint and exits with 130', async () => {
  const run = join(scratch, 'interrupted');
  const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'train', '--data', 'toy2d:two-moons', '--arch', 'mlp', '--arch-config', '{"width":16,"depth":1}', '--steps', '100000', '--batch', '8', '--checkpoint-every', '100000', '--out', run, '--json'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, HASTEN_ORT_SPIN: '0' } });
  let stdout = '';
  child.stdout.on('data', (chunk) => { stdout += String(chunk); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  while (!existsSync(join(run, 'log.jsonl')) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  const summary = JSON.parse(stdout.trim());
  assert.equal(summary.stopped, true);
  assert.ok(summary.step > 0 && summary.step < 100000);
  assert.equal((await loadTrainedModel(run)).step, summary.step, 'the checkpoint holds the step it stopped at');
});
