// The layers of src/, and the test that keeps imports pointing down them. Every top-level folder
// (and file) of src/ must be registered here: a new folder fails this test until it is given a layer.
// A folder may import from its own layer or any layer below, never above, and the folders must not
// import each other in a cycle (not even within a layer).

import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** Folder (or top-level file) of src/ -> its layer; higher layers build on lower ones. */
const LAYERS: Record<string, number> = {
  // the engine: trace, graph, autodiff, ONNX, runtime, checkpoints, RNG
  engine: 0,
  'paths.ts': 0,
  // diffusion mathematics (processes, grids, samplers) and the networks
  diffusion: 1,
  models: 1,
  plot: 1,
  // what is built from models and data: datasets, training, evaluation, acceleration policies,
  // the memory bank
  data: 2,
  train: 2,
  eval: 2,
  accel: 2,
  gmem: 2,
  // generation sessions (policies plug in), the model store
  pipeline: 3,
  // methods built on trained models and generation (rectified flow++, compression of a teacher into
  // a student), analyses of them, imported external graphs as sampling targets
  reflow: 4,
  compress: 4,
  analysis: 4,
  import: 4,
  // experiments and scale-out
  bench: 5,
  scale: 5,
  // front ends: the only places that read argv or draw progress
  cli: 6,
  web: 6,
  // the public API: re-exports every layer
  'index.ts': 7,
};

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const sourceRoot = root.replace(`${sep}dist${sep}`, sep);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The top-level entry of src/ a path lies in: its folder, or the file itself. */
const unitOf = (path: string): string => relative(sourceRoot, path).split(sep)[0]!;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?from\s+'([^']+)'/g), ...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

const files = sources(sourceRoot);
const edges = new Map<string, Set<string>>();
for (const file of files) {
  const from = unitOf(file);
  for (const target of importsOf(file)) {
    const to = unitOf(target);
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(to);
  }
}

test('layering: every folder of src/ has a layer', () => {
  const units = [...new Set(files.map(unitOf))];
  const unregistered = units.filter((unit) => !(unit in LAYERS));
  assert.deepEqual(unregistered, [], `register ${unregistered.map((u) => `src/${u}`).join(', ')} in LAYERS in test/layering.test.ts, at the layer it belongs to`);
});

test('layering: imports point down the layers, never up', () => {
  const violations: string[] = [];
  for (const file of files) {
    const from = unitOf(file);
    for (const target of importsOf(file)) {
      const to = unitOf(target);
      if (to !== from && LAYERS[to]! > LAYERS[from]!) violations.push(`${relative(sourceRoot, file)} (layer ${LAYERS[from]}) imports ${relative(sourceRoot, target)} (layer ${LAYERS[to]})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('layering: no cycle between folders', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (unit: string, path: string[]): void => {
    if (state.get(unit) === 'done') return;
    if (state.get(unit) === 'open') {
      cycles.push([...path.slice(path.indexOf(unit)), unit].join(' -> '));
      return;
    }
    state.set(unit, 'open');
    for (const next of edges.get(unit) ?? []) visit(next, [...path, unit]);
    state.set(unit, 'done');
  };
  for (const unit of edges.keys()) visit(unit, []);
  assert.deepEqual(cycles, []);
});

test('layering: the test sees the sources and their imports', () => {
  assert.ok(files.length > 50, `found only ${files.length} sources under ${sourceRoot}`);
  assert.ok(edges.get('pipeline')?.has('models'), 'pipeline imports models');
});
