// The page's default ONNX Runtime: onnxruntime-web's wasm-only build, loaded at run time from ort/
// beside its .wasm files (the build copies them there untouched), not bundled: its proxy worker is
// started from the module's own address, which must be onnxruntime-web's file, not the app's bundle.
// ONNX Runtime runs in that proxy worker, so a network call never blocks the page: progress,
// previews and Cancel stay live during a step. WebGPU's build loads only when chosen. ?threads=N, ?spin=0 and ?proxy=0 in the address set wasm's threads,
// spinning and the proxy worker (for measurements).

import type * as OrtWasm from 'onnxruntime-web/wasm';
import { type WebOrtOptions, webOrt } from '../src/engine/ort-web.js';
import { timedOrt } from './phases.js';

const query = new URLSearchParams(location.search);
const ortFolder = new URL('ort/', document.baseURI).href;

export const runtimeOptions: WebOrtOptions = {
  wasmPaths: ortFolder,
  ...(query.has('threads') ? { threads: Math.max(1, Number(query.get('threads')) || 1) } : {}),
  ...(query.has('spin') ? { spin: query.get('spin') !== '0' } : {}),
  proxy: query.get('proxy') !== '0',
};

const ort = (await import(/* @vite-ignore */ `${ortFolder}ort.wasm.min.mjs`)) as typeof OrtWasm;

export const platformOrt = webOrt(timedOrt(ort), runtimeOptions);
