// The browser against Node on the same jobs, in the same run, interleaved (Node, browser, Node,
// browser...) so that both see the same machine load: sampling 16 shapes images at 10 NFE, toy2d
// training steps per second, how long the page takes to become ready (and where that time goes) and
// what it downloads; the browser also samples on one wasm thread, for the threads' share.

import { availableParallelism, cpus, loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { CompiledNetwork } from '../pipeline/sampling-network.js';
import { cpuMsSince, median } from '../bench/timing.js';
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
  page: { ready_s: number[]; download_bytes: number; files: number; phases: PagePhases[] };
  sample: {
    node_compile_s: number; // Node's session creation plus one call, before the rounds
    node_s: number[];
    node_cpu_s: number[]; // CPU time of the Node process while it sampled (all its threads)
    browser_s: number[];
    browser_calls_s: number[]; // of browser_s, inside onnxruntime-web's calls
    browser_pressed_to_shown_s: number[];
    browser_one_thread_s: number[]; // the same page on one wasm thread (?threads=1)
    median_ratio: number;
    max_abs_difference: number;
  };
  train: { node_steps_per_s: number[]; browser_steps_per_s: number[]; median_ratio: number };
  machine: { cpu: string; cores: number; node: string; load_average_before: number[]; load_average_after: number[]; hasten_ort_spin: string | null };
}

/** Where a page's time went: seconds since it began to load. */
export interface PagePhases {
  runtime_start_end_s: number; // onnxruntime-web's wasm fetched, compiled and a first tiny session run
  download_end_s: number; // the model's files
  compile_s: number; // from the download's end to ready: the model's graph traced and its session created
  sessions_s: number; // creating sessions (the tiny one and the model's)
  first_call_s: number; // the model's first call, which the page makes right after it is ready
}

type Span = { name: string; startS: number; durationS: number };
type PageHasten = { phases(): Span[]; readyS(): number | undefined; sample(): { images: Float32Array; wallS: number; callsS: number; pressedToShownS: number } | undefined; train(): { step: number; stepsPerSecond: number; running: boolean } | undefined };

/** Opens the page, waits until it is ready to sample, and counts the bytes it downloaded on the way. */
async function openPage(page: Page, url: string): Promise<{ readyS: number; bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const count = (response: { headers(): Record<string, string> }): void => {
    bytes += Number(response.headers()['content-length'] ?? 0);
    files++;
  };
  // On the context, not the page: onnxruntime-web's worker fetches the runtime's files.
  page.context().on('response', count);
  await page.goto(url);
  await page.waitForFunction('window.hasten?.readyS() !== undefined', null, { timeout: 300_000 });
  page.context().off('response', count);
  return { readyS: (await page.evaluate('window.hasten.readyS()')) as number, bytes, files };
}

function pagePhases(spans: Span[]): PagePhases {
  const named = (name: string): Span[] => spans.filter((span) => span.name === name);
  const end = (span: Span | undefined): number => (span ? span.startS + span.durationS : NaN);
  const warmUp = named('warm-up')[0];
  return {
    runtime_start_end_s: end(named('runtime start')[0]),
    download_end_s: end(named('download')[0]),
    compile_s: named('compile')[0]?.durationS ?? NaN,
    sessions_s: named('session').reduce((sum, span) => sum + span.durationS, 0),
    first_call_s: named('run').find((span) => warmUp !== undefined && span.startS >= warmUp.startS)?.durationS ?? NaN,
  };
}

/** Presses Sample on a ready page and waits for the grid. */
async function sampleOnPage(page: Page): Promise<{ wallS: number; callsS: number; pressedToShownS: number; images: number[] }> {
  await page.click('#sample-run');
  await page.waitForFunction('window.hasten.sample() !== undefined', null, { timeout: 600_000 });
  return evaluate(page, (h) => { const last = h.sample()!; return { wallS: last.wallS, callsS: last.callsS, pressedToShownS: last.pressedToShownS, images: Array.from(last.images) }; });
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
    const compiled = await generate(trained, { ...job, steps: 1, network }); // compile, as the page does before it is ready
    const toy: ToySettings = { ...TOY_DEFAULTS, steps: s.trainSteps };
    // The page runs with Node's spinning setting, so both sides treat the shared cores alike.
    const pageUrl = `${site.url}?samples=${s.n}${process.env.HASTEN_ORT_SPIN === '0' ? '&spin=0' : ''}`;
    const result: WebBenchResult = {
      settings: s,
      node_runtime: currentOrt().name,
      browser_runtime: '',
      browser: browser.version(),
      page: { ready_s: [], download_bytes: 0, files: 0, phases: [] },
      sample: { node_compile_s: compiled.wallS, node_s: [], node_cpu_s: [], browser_s: [], browser_calls_s: [], browser_pressed_to_shown_s: [], browser_one_thread_s: [], median_ratio: NaN, max_abs_difference: 0 },
      train: { node_steps_per_s: [], browser_steps_per_s: [], median_ratio: NaN },
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version, load_average_before: loadBefore, load_average_after: [], hasten_ort_spin: process.env.HASTEN_ORT_SPIN ?? null },
    };
    for (let round = 1; round <= s.repeats; round++) {
      onProgress(`round ${round}/${s.repeats}: Node sampling`);
      const cpuBefore = process.cpuUsage();
      const fromNode = await generate(trained, { ...job, network });
      const cpuMs = cpuMsSince(cpuBefore);
      result.sample.node_s.push(fromNode.wallS);
      result.sample.node_cpu_s.push(cpuMs / 1000);

      onProgress(`round ${round}/${s.repeats}: opening the page`);
      const page = await browser.newPage();
      const opened = await openPage(page, pageUrl);
      result.page.ready_s.push(opened.readyS);
      result.page.download_bytes = opened.bytes;
      result.page.files = opened.files;
      result.browser_runtime = (await page.textContent('#runtime')) ?? '';
      onProgress(`round ${round}/${s.repeats}: browser sampling`);
      const fromPage = await sampleOnPage(page);
      result.sample.browser_s.push(fromPage.wallS);
      result.sample.browser_calls_s.push(fromPage.callsS);
      result.page.phases.push(pagePhases(await evaluate(page, (h) => h.phases())));
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

      onProgress(`round ${round}/${s.repeats}: browser sampling on one thread`);
      const onePage = await browser.newPage();
      await openPage(onePage, `${pageUrl}&threads=1`);
      result.sample.browser_one_thread_s.push((await sampleOnPage(onePage)).wallS);
      await onePage.close();
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
