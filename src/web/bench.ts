// The browser against Node on the same jobs, in the same run, interleaved (Node, browser, Node,
// browser...) so that both see the same machine load: sampling 16 shapes images at 10 NFE, toy2d
// training steps per second, how long the page takes to become ready and what it downloads.

import { availableParallelism, cpus, loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { CompiledNetwork } from '../pipeline/sampling-network.js';
import { median } from '../bench/timing.js';
import { currentOrt } from '../engine/runtime.js';
import { generate } from '../pipeline/generate.js';
import { loadTrainedModel } from '../pipeline/model-store.js';
import { TOY_DEFAULTS, type ToySettings, toyRun } from '../pipeline/toy-run.js';
import { launchChromium } from './chromium.js';
import { serveSite } from './serve.js';
import { buildSite } from './site.js';

export interface WebBenchSettings {
  model: string;
  sampler: string;
  steps: number; // 10 NFE with a one-evaluation-per-step sampler
  n: number;
  repeats: number; // interleaved rounds
  trainSteps: number; // toy2d steps timed per round
}

export const WEB_BENCH_DEFAULTS: WebBenchSettings = { model: 'shapes', sampler: 'dpmpp-2m', steps: 10, n: 16, repeats: 3, trainSteps: 200 };

export interface WebBenchResult {
  settings: WebBenchSettings;
  node_runtime: string;
  browser_runtime: string;
  browser: string;
  page: { ready_s: number[]; download_bytes: number; files: number };
  sample: { node_s: number[]; browser_s: number[]; browser_pressed_to_shown_s: number[]; median_ratio: number; max_abs_difference: number };
  train: { node_steps_per_s: number[]; browser_steps_per_s: number[]; median_ratio: number };
  machine: { cpu: string; cores: number; node: string; load_average_before: number[]; load_average_after: number[]; hasten_ort_spin: string | null };
}

type PageHasten = { readyS(): number | undefined; sample(): { images: Float32Array; wallS: number; pressedToShownS: number } | undefined; train(): { step: number; stepsPerSecond: number; running: boolean } | undefined };

/** Opens the page, waits until it is ready to sample, and counts the bytes it downloaded on the way. */
async function openPage(page: Page, url: string): Promise<{ readyS: number; bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const count = (response: { headers(): Record<string, string> }): void => {
    bytes += Number(response.headers()['content-length'] ?? 0);
    files++;
  };
  page.on('response', count);
  await page.goto(url);
  await page.waitForFunction('window.hasten?.readyS() !== undefined', null, { timeout: 300_000 });
  page.off('response', count);
  return { readyS: (await page.evaluate('window.hasten.readyS()')) as number, bytes, files };
}

const evaluate = <T>(page: Page, pick: (h: PageHasten) => T): Promise<T> => page.evaluate(`(${pick.toString()})(window.hasten)`) as Promise<T>;

export async function runWebBench(settings: Partial<WebBenchSettings> = {}, onProgress: (message: string) => void = () => undefined): Promise<WebBenchResult> {
  const s = { ...WEB_BENCH_DEFAULTS, ...settings };
  const loadBefore = loadavg();
  onProgress('building the site');
  const site = await serveSite((await buildSite()).root, { port: 0 });
  const browser = await launchChromium();
  try {
    const trained = await loadTrainedModel(s.model);
    const network = new CompiledNetwork(trained.model, trained.params, {}, trained.name);
    const job = { sampler: s.sampler, steps: s.steps, n: s.n, seed: 0 };
    await generate(trained, { ...job, steps: 1, network }); // compile, as the page does before it is ready
    const toy: ToySettings = { ...TOY_DEFAULTS, steps: s.trainSteps };
    // The page runs with Node's spinning setting, so both sides treat the shared cores alike.
    const pageUrl = `${site.url}?samples=${s.n}${process.env.HASTEN_ORT_SPIN === '0' ? '&spin=0' : ''}`;
    const result: WebBenchResult = {
      settings: s,
      node_runtime: currentOrt().name,
      browser_runtime: '',
      browser: browser.version(),
      page: { ready_s: [], download_bytes: 0, files: 0 },
      sample: { node_s: [], browser_s: [], browser_pressed_to_shown_s: [], median_ratio: NaN, max_abs_difference: 0 },
      train: { node_steps_per_s: [], browser_steps_per_s: [], median_ratio: NaN },
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version, load_average_before: loadBefore, load_average_after: [], hasten_ort_spin: process.env.HASTEN_ORT_SPIN ?? null },
    };
    for (let round = 1; round <= s.repeats; round++) {
      onProgress(`round ${round}/${s.repeats}: Node sampling`);
      const fromNode = await generate(trained, { ...job, network });
      result.sample.node_s.push(fromNode.wallS);

      onProgress(`round ${round}/${s.repeats}: opening the page`);
      const page = await browser.newPage();
      const opened = await openPage(page, pageUrl);
      result.page.ready_s.push(opened.readyS);
      result.page.download_bytes = opened.bytes;
      result.page.files = opened.files;
      result.browser_runtime = (await page.textContent('#runtime')) ?? '';
      onProgress(`round ${round}/${s.repeats}: browser sampling`);
      await page.click('#sample-run');
      await page.waitForFunction('window.hasten.sample() !== undefined', null, { timeout: 600_000 });
      const fromPage = await evaluate(page, (h) => { const last = h.sample()!; return { wallS: last.wallS, pressedToShownS: last.pressedToShownS, images: Array.from(last.images) }; });
      result.sample.browser_s.push(fromPage.wallS);
      result.sample.browser_pressed_to_shown_s.push(fromPage.pressedToShownS);
      fromNode.images.data.forEach((v, i) => { result.sample.max_abs_difference = Math.max(result.sample.max_abs_difference, Math.abs(v - fromPage.images[i]!)); });

      onProgress(`round ${round}/${s.repeats}: Node training`);
      const run = toyRun(toy);
      try {
        while (!run.done) await run.advance();
        result.train.node_steps_per_s.push(run.stepsPerSecond());
      } finally {
        await run.dispose();
      }

      onProgress(`round ${round}/${s.repeats}: browser training`);
      await page.click('nav button[data-view="train"]');
      await page.fill('[name="train-steps"]', String(s.trainSteps));
      await page.fill('[name="train-every"]', String(10 * s.trainSteps)); // no scatter plots while timing
      await page.click('#train-start');
      await page.waitForFunction(`window.hasten.train()?.step === ${s.trainSteps} && !window.hasten.train().running`, null, { timeout: 600_000 });
      result.train.browser_steps_per_s.push(await evaluate(page, (h) => h.train()!.stepsPerSecond));
      await page.close();
    }
    result.sample.median_ratio = median(result.sample.browser_s) / median(result.sample.node_s);
    result.train.median_ratio = median(result.train.node_steps_per_s) / median(result.train.browser_steps_per_s);
    result.machine.load_average_after = loadavg();
    await network.dispose();
    return result;
  } finally {
    await browser.close();
    await site.close();
  }
}
