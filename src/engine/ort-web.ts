// The browser binding: onnxruntime-web, any of its builds (the full one, '/wasm', '/webgpu'), passed
// in so that a page loads only the build it uses. wasm runs everywhere, multi-threaded when the page
// is cross-origin isolated (threads need SharedArrayBuffer); WebGPU where the browser has it. Under
// Node the package's main build runs its wasm, which the cross-runtime test uses.

import type * as ortWeb from 'onnxruntime-web';
import type { OrtBinding } from './ort-binding.js';

export type WebBackend = 'wasm' | 'webgpu';
export type OrtWebModule = Pick<typeof ortWeb, 'InferenceSession' | 'Tensor' | 'env'>;

export interface WebOrtOptions {
  backend?: WebBackend; // execution provider; wasm runs everywhere
  threads?: number; // wasm threads; default: the cores when isolated, else 1
  wasmPaths?: string; // URL prefix of onnxruntime-web's .wasm/.mjs files, where they are served apart from the bundle
  spin?: boolean; // whether idle wasm threads spin; default onnxruntime-web's (they do); a session's own setting wins
  proxy?: boolean; // run ONNX Runtime in onnxruntime-web's worker instead of the calling thread; default onnxruntime-web's (off)
}

/** The threads wasm can use here: one unless the page is cross-origin isolated. */
export function availableWasmThreads(): number {
  const page = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  return page.crossOriginIsolated === true ? Math.max(1, page.navigator?.hardwareConcurrency ?? 1) : 1;
}

/** A binding on `ort`; make it before the module's first session, since onnxruntime-web reads env.wasm once. */
export function webOrt(ort: OrtWebModule, options: WebOrtOptions = {}): OrtBinding {
  const backend = options.backend ?? 'wasm';
  const threads = options.threads ?? availableWasmThreads();
  ort.env.wasm.numThreads = threads;
  if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
  if (options.proxy !== undefined) ort.env.wasm.proxy = options.proxy;
  return {
    name: `onnxruntime-web (${backend}${backend === 'wasm' ? `, ${threads} thread${threads === 1 ? '' : 's'}` : ''}${ort.env.wasm.proxy ? ', in a worker' : ''})`,
    InferenceSession: ort.InferenceSession,
    Tensor: ort.Tensor,
    nchwc: false, // onnxruntime-web's CPU kernels are wasm's own: no NCHWc
    transfersInputs: ort.env.wasm.proxy === true,
    sessionOptions: (session) => {
      const spin = session.spin ?? options.spin;
      return {
        executionProviders: [backend],
        // Measured under onnxruntime-web's wasm: 'basic' compiles the shapes U-Net in two thirds of the
        // time 'all' takes and runs its steps 15% faster; the layout rewrites of 'all' do not pay there.
        graphOptimizationLevel: 'basic',
        ...(spin === undefined ? {} : { extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' } } } }),
      };
    },
  };
}
