// Building the browser app into a static folder (dist/site) with Vite: the page's code from web/
// and the engine's sources, onnxruntime-web's .wasm/.mjs files served beside the bundle (a bundler
// that rewrites them breaks onnxruntime-web's worker and wasm lookup), the shipped models as their
// checkpoint files, and the JSON results the page charts. The folder can be hosted anywhere static.

import { copyFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { packageRoot, shippedModelsDir } from '../paths.js';
import { shippedModelNames } from '../pipeline/model-store.js';

/** onnxruntime-web's runtime files: the wasm-only build's module, its wasm, and the WebGPU build's. */
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];
/** The results the page draws: sampler error against NFE, and the acceleration benchmark. */
const RESULT_FILES = /^(samplers-.*\.json|accel\/bench-accel-timing\.json)$/;
const STAMP = 'build.json';

export interface SiteEntry {
  name: string;
  data: string;
  dataShape: number[];
  classNames: string[] | null;
  objective: string;
  bytes: number; // what loading it downloads
}

export interface BuildResult {
  root: string;
  built: boolean; // false when the folder was already up to date
  seconds: number;
  bytes: number; // the whole folder
}

export const siteDir = (): string => join(packageRoot(), 'dist', 'site');

async function* filesUnder(directory: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

/** The newest modification time among the site's inputs. */
async function newestInput(): Promise<number> {
  const root = packageRoot();
  let newest = 0;
  for (const folder of ['web', 'src', 'models', 'docs/results']) {
    for await (const file of filesUnder(join(root, folder))) newest = Math.max(newest, (await stat(file)).mtimeMs);
  }
  return Math.max(newest, (await stat(join(root, 'package-lock.json'))).mtimeMs);
}

async function folderBytes(directory: string): Promise<number> {
  let total = 0;
  for await (const file of filesUnder(directory)) total += (await stat(file)).size;
  return total;
}

async function copyInto(from: string, to: string): Promise<number> {
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
  return (await stat(to)).size;
}

async function copyModels(out: string): Promise<SiteEntry[]> {
  const entries: SiteEntry[] = [];
  for (const name of shippedModelNames()) {
    let bytes = 0;
    for (const file of ['checkpoint.json', 'checkpoint.safetensors']) bytes += await copyInto(join(shippedModelsDir(), name, file), join(out, 'models', name, file));
    const { config } = JSON.parse(await readFile(join(shippedModelsDir(), name, 'checkpoint.json'), 'utf8')) as { config: { data: string; dataShape: number[]; classNames: string[] | null; objective: { name: string } } };
    entries.push({ name, data: config.data, dataShape: config.dataShape, classNames: config.classNames, objective: config.objective.name, bytes });
  }
  await writeFile(join(out, 'models', 'index.json'), `${JSON.stringify(entries, null, 1)}\n`);
  return entries;
}

async function copyResults(out: string): Promise<void> {
  const results = join(packageRoot(), 'docs', 'results');
  const copied: string[] = [];
  for await (const file of filesUnder(results)) {
    const name = relative(results, file).split('\\').join('/');
    if (!RESULT_FILES.test(name)) continue;
    await copyInto(file, join(out, 'results', name));
    copied.push(name);
  }
  await writeFile(join(out, 'results', 'index.json'), `${JSON.stringify(copied.sort())}\n`);
}

/** Builds the site unless it is newer than all its inputs (or `force`); returns where it is. */
export async function buildSite(options: { force?: boolean; out?: string } = {}): Promise<BuildResult> {
  const root = packageRoot();
  const out = options.out ?? siteDir();
  const started = performance.now();
  const newest = await newestInput();
  if (!options.force) {
    try {
      const stamp = JSON.parse(await readFile(join(out, STAMP), 'utf8')) as { inputs: number };
      if (stamp.inputs >= newest) return { root: out, built: false, seconds: 0, bytes: await folderBytes(out) };
    } catch {
      // no stamp: build
    }
  }
  const vite = await import('vite');
  await vite.build({
    root: join(root, 'web'),
    base: './',
    configFile: false,
    logLevel: 'warn',
    resolve: {
      // The page picks its onnxruntime-web build itself; its runtime files come from ort/.
      alias: { '#ort': join(root, 'web', 'ort-default.ts') },
      conditions: ['onnxruntime-web-use-extern-wasm', ...vite.defaultClientConditions],
    },
    build: { outDir: out, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096, reportCompressedSize: false },
  });
  const require = createRequire(import.meta.url);
  // (The package exports the runtime files but not the build's module; they share one folder.)
  const ortDist = dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.mjs'));
  for (const file of ORT_FILES) await copyInto(join(ortDist, file), join(out, 'ort', file));
  await copyModels(out);
  await copyResults(out);
  await writeFile(join(out, STAMP), `${JSON.stringify({ inputs: newest, built: new Date().toISOString() })}\n`);
  return { root: out, built: true, seconds: (performance.now() - started) / 1000, bytes: await folderBytes(out) };
}
