// Opening a trained model over HTTP: the same checkpoint.json + checkpoint.safetensors pair that a
// model folder holds, fetched with progress. Works wherever fetch does (browsers, Node).

import { assembleCheckpoint, parseCheckpointConfig } from '../engine/checkpoint-format.js';
import { decodeSafetensors } from '../engine/safetensors.js';
import type { TrainedModel } from './model-store.js';
import { trainedModelFrom } from './trained-model.js';

export interface DownloadProgress {
  url: string;
  loaded: number; // bytes received so far
  total: number | undefined; // the Content-Length, when the server sent one
}

/** The body of `url` as bytes, reporting progress as chunks arrive; an HTTP error names the URL and status. */
export async function fetchBytes(url: string, onProgress?: (progress: DownloadProgress) => void, signal?: AbortSignal): Promise<Uint8Array> {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
  const length = response.headers.get('content-length');
  const total = length === null ? undefined : Number(length);
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress?.({ url, loaded, total });
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** The model whose checkpoint.json and checkpoint.safetensors are under `baseUrl` (a folder URL). */
export async function fetchTrainedModel(name: string, baseUrl: string, onProgress?: (progress: DownloadProgress) => void, signal?: AbortSignal): Promise<TrainedModel> {
  const folder = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const files = { config: `${folder}checkpoint.json`, weights: `${folder}checkpoint.safetensors` };
  const header = parseCheckpointConfig(new TextDecoder().decode(await fetchBytes(files.config, undefined, signal)), files.config);
  const weights = decodeSafetensors(await fetchBytes(files.weights, onProgress, signal), files.weights);
  return trainedModelFrom(name, folder, assembleCheckpoint(header, weights, files));
}
