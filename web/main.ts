// The page: the runtime and its limits shown first, then the four views. window.hasten exposes the
// last results and the page's readiness, for scripts and the browser tests.

import { availableWasmThreads } from '../src/engine/ort-web.js';
import { startRuntime, useBackend, webgpuAvailable } from './backend.js';
import { chartsView } from './charts-view.js';
import { compareView } from './compare-view.js';
import { byId, describeError, notice } from './dom.js';
import { ModelChooser } from './model-chooser.js';
import { spans } from './phases.js';
import { modelIndex } from './models.js';
import { sampleView } from './sample-view.js';
import { trainView } from './train-view.js';

const DEFAULT_MODEL = 'shapes';

async function start(): Promise<void> {
  const runtime = byId('runtime');
  const backendSelect = byId<HTMLSelectElement>('backend');
  const describe = (name: string): string => `${name} · ${crossOriginIsolated ? 'isolated' : 'not isolated'} · ${availableWasmThreads()} of ${navigator.hardwareConcurrency} cores`;
  runtime.textContent = describe(await useBackend('wasm'));
  startRuntime().catch((error: unknown) => notice(`onnxruntime-web could not start: ${describeError(error)}`, 'bad'));
  if (!crossOriginIsolated) notice('This page is not cross-origin isolated (the server sent no COOP/COEP headers), so wasm runs on one thread. `npx hasten web` serves it with them.');
  const webgpuOption = backendSelect.querySelector<HTMLOptionElement>('option[value="webgpu"]')!;
  const hasWebgpu = await webgpuAvailable();
  if (!hasWebgpu) {
    webgpuOption.disabled = true;
    webgpuOption.textContent = 'WebGPU (not available)';
    notice('WebGPU is not available in this browser (no adapter), so the models run on wasm.');
  }
  backendSelect.addEventListener('change', async () => {
    try {
      runtime.textContent = describe(await useBackend(backendSelect.value as 'wasm' | 'webgpu'));
    } catch (error) {
      notice(`Could not switch to ${backendSelect.value}: ${describeError(error)}; staying on wasm.`, 'bad');
      backendSelect.value = 'wasm';
      runtime.textContent = describe(await useBackend('wasm'));
    }
  });

  const charts = chartsView();
  for (const button of document.querySelectorAll<HTMLButtonElement>('nav button')) {
    button.addEventListener('click', () => {
      for (const other of document.querySelectorAll('nav button')) other.classList.toggle('active', other === button);
      for (const view of document.querySelectorAll('.view')) view.classList.toggle('active', view.id === `view-${button.dataset.view}`);
      if (button.dataset.view === 'charts') void charts.open();
    });
  }

  const entries = await modelIndex();
  const chooser = new ModelChooser(entries, entries.some((e) => e.name === DEFAULT_MODEL) ? DEFAULT_MODEL : entries[0]!.name);
  const sample = sampleView(chooser);
  const compare = compareView(chooser);
  const train = trainView();
  Object.assign(window, { hasten: { readyS: sample.readyS, sample: sample.last, compare: compare.last, train: train.state, runtime: () => runtime.textContent, phases: spans } });
}

start().catch((error: unknown) => notice(`The page could not start: ${describeError(error)}`, 'bad'));
