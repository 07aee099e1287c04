// The site's shipped models: the index the build writes, each model fetched once (with progress)
// and its compiled networks kept per acceleration setting, so a second run does not compile again.

import type { AccelConfig } from '../src/accel/config.js';
import { CompiledNetwork } from '../src/pipeline/sampling-network.js';
import { type DownloadProgress, fetchTrainedModel } from '../src/pipeline/model-fetch.js';
import type { TrainedModel } from '../src/pipeline/model-store.js';
import type { SiteEntry } from '../src/web/site.js';

const modelsUrl = new URL('models/', document.baseURI);

export async function modelIndex(): Promise<SiteEntry[]> {
  const response = await fetch(new URL('index.json', modelsUrl));
  if (!response.ok) throw new Error(`models/index.json: HTTP ${response.status}; was the site built with its models?`);
  return (await response.json()) as SiteEntry[];
}

const loaded = new Map<string, Promise<TrainedModel>>();

export function loadModel(name: string, onProgress?: (progress: DownloadProgress) => void): Promise<TrainedModel> {
  let model = loaded.get(name);
  if (!model) {
    model = fetchTrainedModel(name, new URL(`${name}/`, modelsUrl).href, onProgress);
    model.catch(() => loaded.delete(name));
    loaded.set(name, model);
  }
  return model;
}

const networks = new Map<string, CompiledNetwork>();

/** The compiled network of `trained` under `accel` on the current backend, made once. */
export function networkFor(trained: TrainedModel, accel: AccelConfig, backend: string): CompiledNetwork {
  const key = `${trained.name}|${backend}|${JSON.stringify(accel)}`;
  let network = networks.get(key);
  if (!network) {
    network = new CompiledNetwork(trained.model, trained.params, accel, trained.name);
    networks.set(key, network);
  }
  return network;
}
