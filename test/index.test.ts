// The public entry is the CLI's: every module of src/ that a command imports is re-exported whole
// (`export * from`) by src/index.ts, so whatever the commands can do, a program importing 'hasten'
// can do too.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const sourceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../src').replace(`${sep}dist${sep}`, sep);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Modules (paths under src/, without extension) that `file` imports by relative specifier. */
function importedModules(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\s)import\s[^;]*?from\s+'(\.[^']+)'/g), ...text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1]!);
  return specifiers.map((s) => relative(sourceRoot, resolve(dirname(file), s)).replace(/\.js$/, '').split(sep).join('/'));
}

const index = readFileSync(join(sourceRoot, 'index.ts'), 'utf8');
const exportedWhole = new Set([...index.matchAll(/^export \* from '\.\/([^']+)\.js';$/gm)].map((m) => m[1]!));

test('index: every module a CLI command imports is exported whole by src/index.ts', () => {
  const missing = new Map<string, string[]>();
  for (const file of sources(join(sourceRoot, 'cli'))) {
    for (const module of importedModules(file)) {
      if (module.startsWith('cli/') || exportedWhole.has(module)) continue;
      missing.set(module, [...(missing.get(module) ?? []), relative(sourceRoot, file)]);
    }
  }
  const lines = [...missing].map(([module, users]) => `src/${module}.ts (imported by ${users.join(', ')}): add export * from './${module}.js' to src/index.ts`);
  assert.deepEqual(lines, []);
});

test('index: the check sees the entry and the commands', () => {
  assert.ok(exportedWhole.size > 50, `found only ${exportedWhole.size} whole-module exports in src/index.ts`);
  assert.ok(exportedWhole.has('pipeline/generate'), 'src/index.ts exports pipeline/generate');
  const fromSample = importedModules(join(sourceRoot, 'cli', 'commands', 'sample.ts'));
  assert.ok(fromSample.includes('pipeline/generate') || fromSample.some((m) => m.startsWith('pipeline/')), `sample.ts imports: ${fromSample.join(', ')}`);
});
