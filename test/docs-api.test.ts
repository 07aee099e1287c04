// docs/api.md's example, compiled against the built package and run, so the documented API is the
// one that exists.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = resolve(dist, '..');

test('docs/api.md: the example type-checks against dist and runs', { timeout: 300_000 }, () => {
  const doc = readFileSync(join(repo, 'docs/api.md'), 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example, 'docs/api.md holds a ```ts example');
  // The example imports the package by name; here that is the built entry next to it.
  const dir = join(dist, 'docs-example');
  mkdirSync(dir, { recursive: true });
  const source = example.replace(/from 'hasten'/g, "from '../src/index.js'");
  const file = join(dir, 'api.ts');
  writeFileSync(file, source);
  const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(repo, 'node_modules/@types')] };
  const program = ts.createProgram([file], options);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, [], 'the example compiles');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  writeFileSync(join(dir, 'api.mjs'), js);
  const cwd = mkdtempSync(join(tmpdir(), 'hasten-api-'));
  const output = execFileSync(process.execPath, [join(dir, 'api.mjs')], { cwd, encoding: 'utf8', env: { ...process.env, HASTEN_ORT_SPIN: '0' } });
  assert.match(output, /\d+ network evaluations per sample/);
  assert.match(output, /FD [\d.]+ \(floor [\d.]+\), accuracy [\d.]+/);
  assert.ok(existsSync(join(cwd, 'grid.png')), 'the grid is written');
});
