// The app in a real, headless Chromium: it loads without console errors, samples what Node samples,
// compares two configurations, trains toy2d, and survives a bad setting. HASTEN_WEB_SCREENSHOTS=DIR
// also saves a screenshot of each view there (docs/web.md shows them).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { generate } from '../../src/pipeline/generate.js';
import { loadTrainedModel } from '../../src/pipeline/model-store.js';
import { serveSite, type SiteServer } from '../../src/web/serve.js';
import { buildSite } from '../../src/web/site.js';
import { launchChromium } from '../../src/web/chromium.js';

const SAMPLES = 4; // the batch the page compiles first (?samples=4): small, so the tests stay fast
const screenshots = process.env.HASTEN_WEB_SCREENSHOTS;
let root: string;
let site: SiteServer;
let browser: Browser;
let page: Page;
const problems: string[] = [];
const requested: string[] = []; // by the page and its workers

type Hasten = {
  phases(): { name: string; startS: number; durationS: number }[];
  sample(): { images: Float32Array; shape: number[]; nfe: number } | undefined;
  compare(): { speedup: number; nfe: [number, number]; maxDifference: number } | undefined;
  train(): { step: number; losses: number[]; running: boolean } | undefined;
};
const hasten = <T>(pick: (h: Hasten) => T): Promise<T> => page.evaluate(`(${pick.toString()})(window.hasten)`) as Promise<T>;

async function snapshot(name: string): Promise<void> {
  if (screenshots) await page.screenshot({ path: join(screenshots, `web-${name}.png`), fullPage: true });
}

async function fill(selector: string, value: string): Promise<void> {
  await page.fill(selector, value);
}

before(async () => {
  root = (await buildSite()).root;
  site = await serveSite(root, { port: 0 });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.context().on('request', (request) => requested.push(request.url()));
  await page.goto(`${site.url}?samples=${SAMPLES}`);
});

after(async () => {
  await browser?.close();
  await site?.close();
});

test('page: loads isolated on wasm threads, says WebGPU is missing, and becomes ready to sample', async () => {
  await page.waitForSelector('#sample-run:not([disabled])', { timeout: 120_000 });
  // Isolated, wasm gets every core, and ONNX Runtime runs in its worker, off the page's thread.
  const cores = (await page.evaluate('navigator.hardwareConcurrency')) as number;
  assert.match(await page.textContent('#runtime') ?? '', new RegExp(`onnxruntime-web \\(wasm, ${cores} threads?, in a worker\\) · isolated`));
  assert.ok(requested.some((url) => url.endsWith('/ort/ort-wasm-simd-threaded.wasm')), `the SIMD + threads build loads (requested: ${requested.join(', ')})`);
  const phases = await hasten((h) => h.phases().map((span) => span.name));
  for (const phase of ['download', 'session', 'compile']) assert.ok(phases.includes(phase), `phase ${phase} recorded`);
  assert.match(await page.textContent('#notices') ?? '', /WebGPU is not available/);
  assert.deepEqual(problems, []);
});

test('page: served without the isolation headers, it runs wasm on one thread and says why', async () => {
  const plain = await serveSite(root, { port: 0, isolated: false });
  const other = await browser.newPage();
  try {
    await other.goto(`${plain.url}?samples=${SAMPLES}`);
    await other.waitForFunction('!document.querySelector("#runtime").textContent.startsWith("starting")');
    assert.match(await other.textContent('#runtime') ?? '', /onnxruntime-web \(wasm, 1 thread, in a worker\) · not isolated/);
    assert.match(await other.textContent('#notices') ?? '', /not cross-origin isolated/);
  } finally {
    await other.close();
    await plain.close();
  }
});

test('page: a 10-NFE sample of shapes equals the Node output for the same seed within 1e-3', async () => {
  await fill('[name="sample-seed"]', '5');
  await page.click('#sample-run');
  await page.waitForFunction('window.hasten.sample() !== undefined', null, { timeout: 120_000 });
  const fromPage = await hasten((h) => { const s = h.sample()!; return { images: Array.from(s.images), shape: s.shape, nfe: s.nfe }; });
  const fromNode = await generate(await loadTrainedModel('shapes'), { sampler: 'dpmpp-2m', steps: 10, n: SAMPLES, seed: 5 });
  assert.deepEqual(fromPage.shape, fromNode.images.shape);
  assert.equal(fromPage.nfe, 10);
  let largest = 0;
  fromNode.images.data.forEach((v, i) => { largest = Math.max(largest, Math.abs(v - fromPage.images[i]!)); });
  assert.ok(largest <= 1e-3, `max abs difference ${largest}`);
  // Ready meant compiled: the model's first call came after it (and before this sample, which queued behind it).
  const spans = await hasten((h) => h.phases());
  const compiled = spans.find((span) => span.name === 'compile')!;
  const warmUp = spans.find((span) => span.name === 'warm-up');
  assert.ok(warmUp && warmUp.startS >= compiled.startS + compiled.durationS - 1e-3, 'the first call follows the compile');
  assert.equal(await page.locator('#sample-result canvas').count(), 1);
  assert.match(await page.getAttribute('#sample-download', 'href') ?? '', /^blob:/);
  await snapshot('sample');
});

test('page: a bad setting (steps 0) shows one error and leaves the page usable', async () => {
  await fill('[name="sample-steps"]', '0');
  await page.click('#sample-run');
  await page.waitForSelector('#sample-error:not([hidden])');
  assert.match(await page.textContent('#sample-error') ?? '', /steps must be a whole number from 1/);
  await fill('[name="sample-steps"]', '2');
  await page.click('#sample-run');
  await page.waitForFunction('window.hasten.sample()?.nfe === 2', null, { timeout: 60_000 });
  assert.equal(await page.isHidden('#sample-error'), true);
  await fill('[name="sample-steps"]', '10');
});

test('page: compare mode shows two grids, a difference map and a speedup', async () => {
  await page.click('nav button[data-view="compare"]');
  await page.waitForSelector('#compare-run:not([disabled])', { timeout: 60_000 });
  await fill('[name="compare-a-steps"]', '6');
  await fill('[name="compare-b-steps"]', '3');
  await page.click('#compare-run');
  await page.waitForFunction('window.hasten.compare() !== undefined', null, { timeout: 120_000 });
  const result = await hasten((h) => h.compare()!);
  assert.deepEqual(result.nfe, [6, 3]);
  assert.ok(result.speedup > 0 && Number.isFinite(result.speedup));
  assert.ok(result.maxDifference > 0, 'three and six steps give different images');
  for (const box of ['#compare-result-a', '#compare-result-b', '#compare-diff']) assert.equal(await page.locator(`${box} canvas`).count(), 1, box);
  assert.match(await page.textContent('#compare-stats') ?? '', /speedup of B over A: [\d.]+x in time, 2\.00x in evaluations/);
  await snapshot('compare');
});

test('page: the charts draw the sampler and acceleration results', async () => {
  await page.click('nav button[data-view="charts"]');
  // The acceleration table comes after every sampler chart: wait for it too, however many charts there are.
  await page.waitForFunction('document.querySelectorAll("#charts svg").length >= 5 && document.querySelectorAll("#charts table tr").length > 5', null, { timeout: 30_000 });
  assert.ok((await page.locator('#charts svg polyline').count()) > 10);
  assert.ok((await page.locator('#charts table tr').count()) > 5);
  await snapshot('charts');
});

test('page: 200 steps of toy2d training lower the loss, and the trained model samples', async () => {
  await page.click('nav button[data-view="train"]');
  await fill('[name="train-steps"]', '200');
  await fill('[name="train-every"]', '100');
  await fill('[name="train-batch"]', '128');
  await fill('[name="train-width"]', '64');
  await page.click('#train-start');
  await page.waitForFunction('window.hasten.train()?.step === 200 && !window.hasten.train().running', null, { timeout: 120_000 });
  const { losses } = await hasten((h) => h.train()!);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(mean(losses.slice(-20)) < 0.8 * mean(losses.slice(0, 20)), `loss ${mean(losses.slice(0, 20))} -> ${mean(losses.slice(-20))}`);
  await page.waitForSelector('#train-scatter canvas');
  await page.waitForSelector('#train-sample:not([disabled])');
  await snapshot('train');
  assert.deepEqual(problems, []);
});
