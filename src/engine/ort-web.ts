// The browser binding: onnxruntime-web. wasm by default, multi-threaded when the page is
// cross-origin isolated (SharedArrayBuffer needs it); WebGPU when the caller asks and the browser
// has it. Under Node the same package runs its wasm build, which the cross-runtime test uses.

import * as ort from 'onnxruntime-web';
import type { OrtBinding } from './ort-binding.js';

export type WebBackend = 'wasm' | 'webgpu';

export interface WebOrtOptions {
  backend?: WebBackend; // execution provider; wasm runs everywhere
  threads?: number; // wasm threads; default: the cores when isolated, else 1
  wasmPaths?: string; // URL prefix of onnxruntime-web's .wasm/.mjs files, when served apart from the bundle
}

/** A binding on onnxruntime-web; set before the first session, since ORT reads env.wasm once. */
export function webOrt(options: WebOrtOptions = {}): OrtBinding {
  const backend = options.backend ?? 'wasm';
  const page = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  const isolated = page.crossOriginIsolated === true;
  const cores = page.navigator?.hardwareConcurrency ?? 1;
  ort.env.wasm.numThreads = options.threads ?? (isolated ? cores : 1);
  if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
  return {
    name: `onnxruntime-web (${backend}, ${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads === 1 ? '' : 's'})`,
    InferenceSession: ort.InferenceSession,
    Tensor: ort.Tensor,
    sessionOptions: () => ({ executionProviders: [backend] }),
  };
}

export const platformOrt: OrtBinding = webOrt();
