import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compile } from '../../src/engine/runtime.js';
import { contrastiveLoss, loadEncoder, saveEncoder, trainEncoder } from '../../src/gmem/encoder.js';

const TINY = { stageWidths: [4, 8], groups: 2, snippetDim: 6, projectorHidden: 8, projectionDim: 4 };

test('contrastiveLoss: matches NT-Xent computed on the host', async () => {
  const rows = [[1, 0], [0.6, 0.8], [0.9, 0.1], [0, 1]];
  const fn = compile((_g, { z }) => ({ ...contrastiveLoss(z!, 0.5) }), { params: new Map() });
  const out = await fn.run({ z: { dtype: 'float32', shape: [4, 2], data: Float32Array.from(rows.flat()) } });
  await fn.dispose();
  const unit = rows.map((r) => r.map((v) => v / Math.hypot(...r)));
  let expected = 0;
  for (let i = 0; i < 4; i++) {
    const sims = unit.map((r, j) => (j === i ? -Infinity : (r[0]! * unit[i]![0]! + r[1]! * unit[i]![1]!) / 0.5));
    const logSum = Math.log(sims.reduce((s, v) => s + Math.exp(v), 0));
    expected += (logSum - sims[(i + 2) % 4]!) / 4;
  }
  assert.ok(Math.abs((out.loss!.data[0] as number) - expected) < 1e-4, `${out.loss!.data[0]} vs ${expected}`);
  assert.equal(out.accuracy!.data[0], 1);
});

test('trainEncoder: finite losses; stop and resume equals an uninterrupted run; saved encoder reloads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hasten-encoder-'));
  try {
    const common = { data: 'shapes', resolution: 8, architecture: TINY, settings: { steps: 6, batch: 8, warmup: 1, checkpointEvery: 2, lr: 3e-3 } };
    const losses: number[] = [];
    const whole = await trainEncoder({ ...common, out: join(dir, 'a'), onStep: (_s, m) => losses.push(m.loss) });
    assert.ok(losses.every(Number.isFinite));
    let calls = 0;
    const first = await trainEncoder({ ...common, out: join(dir, 'b'), shouldStop: () => ++calls === 3 });
    assert.equal(first.step, 3);
    assert.equal(first.stopped, true);
    const resumed = await trainEncoder({ data: '', out: join(dir, 'b'), resume: true });
    assert.equal(resumed.step, 6);
    for (const [name, t] of whole.encoder.params) assert.deepEqual(resumed.encoder.params.get(name)!.data, t.data, name);
    await assert.rejects(trainEncoder({ data: '', out: join(dir, 'b'), resume: true, settings: { steps: 2 } }), /at step 6/);
    await saveEncoder(join(dir, 'enc'), whole.encoder);
    const loaded = await loadEncoder(join(dir, 'enc'));
    const images = { dtype: 'float32' as const, shape: [2, 3, 8, 8], data: Float32Array.from({ length: 384 }, (_, i) => Math.sin(i)) };
    const a = await whole.encoder.encode(images);
    const b = await loaded.encode(images);
    assert.deepEqual(a.snippets, b.snippets);
    assert.equal(a.snippets.length, 2 * 6);
    assert.equal(a.maps.length, 2 * 8 * 2 * 2);
    await Promise.all([whole.encoder.dispose(), loaded.dispose(), first.encoder.dispose(), resumed.encoder.dispose()]);
    await assert.rejects(loadEncoder(join(dir, 'nowhere')), /no encoder/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the shipped encoder-shapes: 128-d snippets that hold the shape (nearest class centroid: 64.5% when shipped, chance 12.5%)', async () => {
  process.env.HASTEN_ORT_SPIN = '0';
  const { openDataset } = await import('../../src/data/registry.js');
  const encoder = await loadEncoder('encoder-shapes');
  try {
    assert.equal(encoder.snippetDim, 128);
    const dataset = openDataset('shapes');
    const unitRows = async (start: number, count: number) => {
      const batch = dataset.sample({ start, count }, 1000);
      const { snippets } = await encoder.encode(batch.x);
      for (let i = 0; i < count; i++) {
        const row = snippets.subarray(i * 128, (i + 1) * 128);
        const norm = Math.hypot(...row);
        row.forEach((v, j) => (row[j] = v / norm));
      }
      return { snippets, labels: Array.from(batch.labels!.data, Number) };
    };
    const fit = await unitRows(0, 400);
    const centroids = new Float64Array(8 * 128);
    fit.labels.forEach((c, i) => { for (let j = 0; j < 128; j++) centroids[c * 128 + j]! += fit.snippets[i * 128 + j]!; });
    const held = await unitRows(400, 200);
    let hits = 0;
    held.labels.forEach((c, i) => {
      const scores = Array.from({ length: 8 }, (_, k) => {
        let dot = 0;
        let norm = 0;
        for (let j = 0; j < 128; j++) { dot += centroids[k * 128 + j]! * held.snippets[i * 128 + j]!; norm += centroids[k * 128 + j]! ** 2; }
        return dot / Math.sqrt(norm);
      });
      if (scores.indexOf(Math.max(...scores)) === c) hits++;
    });
    assert.ok(hits / 200 > 0.5, `nearest-centroid accuracy ${hits / 200}`);
  } finally {
    await encoder.dispose();
  }
});
