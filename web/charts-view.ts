// The Charts view: the measured results in docs/results, drawn from their JSON: sampler error
// against evaluations for each time grid, and the acceleration benchmark's speed and quality.

import { byId, describeError, notice } from './dom.js';
import { chart } from './chart.js';

interface SamplerResults {
  results: { sampler: string; nfe: number; err: number }[];
}

interface AccelResults {
  model: string;
  sampler: string;
  steps: number;
  n: number;
  machine: { cpu: string; cores: number };
  rows: { method: string; config: string; nfe: number; wall_s: number; speedup: number; fd: number; accuracy: number }[];
}

const resultsUrl = new URL('results/', document.baseURI);

async function json<T>(name: string): Promise<T> {
  const response = await fetch(new URL(name, resultsUrl));
  if (!response.ok) throw new Error(`results/${name}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

function samplerChart(name: string, data: SamplerResults): HTMLElement {
  const bySampler = new Map<string, [number, number][]>();
  for (const row of data.results) {
    if (!bySampler.has(row.sampler)) bySampler.set(row.sampler, []);
    bySampler.get(row.sampler)!.push([row.nfe, row.err]);
  }
  const grid = name.replace(/^samplers-|\.json$/g, '');
  const box = document.createElement('div');
  box.className = 'chart';
  box.append(chart({
    title: `Sampler error against NFE on the exact Gaussian mixture (${grid} grid)`,
    x: { label: 'network evaluations (NFE)', log: true },
    y: { label: 'error to the exact ODE solution', log: true },
    series: [...bySampler].map(([sampler, points]) => ({ name: sampler, points: points.sort((a, b) => a[0] - b[0]) })),
  }));
  return box;
}

function accelSection(data: AccelResults): HTMLElement {
  const box = document.createElement('div');
  box.className = 'chart';
  const methods = [...new Set(data.rows.map((row) => row.method))];
  box.append(chart({
    title: `Training-free acceleration on ${data.model}, ${data.sampler} ${data.steps} steps: speedup against FD`,
    x: { label: 'wall-clock speedup over the plain model' },
    y: { label: 'FD (lower is better)' },
    series: methods.map((method) => ({ name: method, line: false, points: data.rows.filter((row) => row.method === method).map((row) => [row.speedup, row.fd] as [number, number]) })),
  }));
  const table = document.createElement('table');
  table.innerHTML = '<tr><th>configuration</th><th>NFE</th><th>seconds</th><th>speedup</th><th>FD</th><th>accuracy</th></tr>';
  for (const row of data.rows) {
    const tr = document.createElement('tr');
    for (const cell of [row.config, String(row.nfe), row.wall_s.toFixed(2), `${row.speedup.toFixed(2)}x`, row.fd.toFixed(2), `${(100 * row.accuracy).toFixed(1)}%`]) {
      const td = document.createElement('td');
      td.textContent = cell;
      tr.append(td);
    }
    table.append(tr);
  }
  const caption = document.createElement('p');
  caption.className = 'hint';
  caption.textContent = `n = ${data.n} samples per row; measured on ${data.machine.cpu}, ${data.machine.cores} cores (docs/results/accel.md).`;
  box.append(table, caption);
  return box;
}

/** Draws the charts once, the first time the view opens. */
export function chartsView(): { open(): Promise<void> } {
  let drawn: Promise<void> | undefined;
  const draw = async (): Promise<void> => {
    const target = byId('charts');
    try {
      const names = await json<string[]>('index.json');
      for (const name of names.filter((n) => n.startsWith('samplers-'))) target.append(samplerChart(name, await json<SamplerResults>(name)));
      for (const name of names.filter((n) => n.startsWith('accel/'))) target.append(accelSection(await json<AccelResults>(name)));
    } catch (error) {
      notice(`Could not draw the charts: ${describeError(error)}`, 'bad');
    }
  };
  return { open: () => (drawn ??= draw()) };
}
