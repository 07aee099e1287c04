// The page's default ONNX Runtime: onnxruntime-web's wasm-only build, whose runtime files the site
// serves from ort/ (the build copies them there untouched). WebGPU's build loads only when chosen.
// ?threads=N and ?spin=0 in the address set wasm's threads and spinning (for measurements).

import * as ort from 'onnxruntime-web/wasm';
import { type WebOrtOptions, webOrt } from '../src/engine/ort-web.js';

const query = new URLSearchParams(location.search);

export const runtimeOptions: WebOrtOptions = {
  wasmPaths: new URL('ort/', document.baseURI).href,
  ...(query.has('threads') ? { threads: Math.max(1, Number(query.get('threads')) || 1) } : {}),
  ...(query.has('spin') ? { spin: query.get('spin') !== '0' } : {}),
};

export const platformOrt = webOrt(ort, runtimeOptions);
