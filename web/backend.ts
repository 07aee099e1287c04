// Choosing the execution backend: wasm everywhere (threads when the page is cross-origin isolated),
// WebGPU where the browser has an adapter.

import { type WebBackend, webOrt } from '../src/engine/ort-web.js';
import * as F from '../src/engine/ops/index.js';
import { compile, currentOrt, useOrt } from '../src/engine/runtime.js';
import { platformOrt, runtimeOptions } from './ort-default.js';
import { timed } from './phases.js';

interface Gpu {
  requestAdapter(): Promise<unknown>;
}

/** Whether WebGPU can run here: the API exists and an adapter is granted. */
export async function webgpuAvailable(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: Gpu }).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** Runs later sessions on `backend`; returns the binding's description for the page. (WebGPU's build is bundled, so its proxy worker could not start: it runs on the page's thread.) */
export async function useBackend(backend: WebBackend): Promise<string> {
  if (backend === 'webgpu') useOrt(webOrt(await import('onnxruntime-web/webgpu'), { ...runtimeOptions, backend, proxy: false }));
  else useOrt(platformOrt);
  return currentOrt().name;
}

/**
 * Starts the runtime (fetching and compiling its .wasm, starting its threads) with a one-op graph, so
 * that this overlaps the model's download instead of following it.
 */
export function startRuntime(): Promise<void> {
  return timed('runtime start', async () => {
    const square = compile((_graph, { x }) => ({ y: F.mul(x!, x!) }), { params: 'inputs', name: 'start' });
    await square.run({ x: { dtype: 'float32', shape: [1], data: Float32Array.of(2) } });
    await square.dispose();
  });
}
