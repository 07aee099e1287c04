// `hasten bench samplers`: every sampler against the exact solution of a Gaussian-mixture
// problem, at matched NFE. See docs/results/samplers.md for recorded runs.

import { existsSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadGaussianMixture, shippedProblemPath } from '../../diffusion/gmm.js';
import { gridSyntax, makeGrid, parseGridSpec, type GridSpec } from '../../diffusion/grids.js';
import { processByName, processNames, type Process } from '../../diffusion/process.js';
import { runSamplerBenchmark, type SamplerBenchmarkResult } from '../../diffusion/sampler-benchmark.js';
import { getSampler, samplerNames, stepsForNfe } from '../../diffusion/samplers/index.js';
import { lineChart } from '../../plot/svg.js';
import { parseList, parseNumber, UsageError, type Command } from '../command.js';

const defaultNfes = '3,5,8,10,15,20,30,50,100,200';

function usage<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseNfes(raw: string | boolean | undefined): number[] {
  const items = parseList(raw) ?? [];
  if (items.length === 0) throw new UsageError('--nfe expects a comma-separated list of positive integers');
  return items.map((item) => parseNumber('nfe', item, { integer: true, min: 1 })!);
}

function parseSamplers(raw: string | boolean | undefined): string[] {
  const names = parseList(raw) ?? [...samplerNames];
  const unknown = names.filter((name) => !samplerNames.includes(name));
  if (unknown.length > 0) throw new UsageError(`unknown sampler${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')} (known: ${samplerNames.join(', ')})`);
  if (names.length === 0) throw new UsageError('--samplers expects a comma-separated list of sampler names');
  return names;
}

function formatNumber(value: number): string {
  return Number.isFinite(value) ? value.toExponential(2) : String(value);
}

/**
 * Markdown tables, one per metric: samplers down, requested NFEs across. A cell shows the
 * NFE actually used in parentheses when the sampler's step cost could not hit the request.
 */
function formatTables(result: SamplerBenchmarkResult, samplers: string[], nfes: number[], header: string[]): string {
  const lines = [...header, '', `swd_floor (fresh vs fresh samples): ${formatNumber(result.swd_floor)}`];
  const columns = [...new Set(nfes)].sort((a, b) => a - b);
  for (const metric of ['err', 'rmse', 'swd'] as const) {
    lines.push('', `${metric}:`, '', `| sampler | ${columns.join(' | ')} |${metric === 'err' ? ' order |' : ''}`);
    lines.push(`|---|${columns.map(() => '---:').join('|')}|${metric === 'err' ? '---:|' : ''}`);
    for (const name of samplers) {
      const definition = getSampler(name);
      const cells = columns.map((requested) => {
        const used = definition.nfe(stepsForNfe(definition, requested));
        const row = result.results.find((r) => r.sampler === name && r.nfe === used);
        return row ? `${formatNumber(row[metric])}${used === requested ? '' : ` (${used})`}` : '';
      });
      const order = result.orders[name]!;
      lines.push(`| ${name} | ${cells.join(' | ')} |${metric === 'err' ? ` ${Number.isFinite(order) ? order.toFixed(2) : 'n/a'} |` : ''}`);
    }
  }
  return lines.join('\n');
}

function progressReporter(): (done: number, total: number, label: string) => void {
  const live = process.stderr.isTTY;
  let lastSampler = '';
  return (done, total, label) => {
    if (live) {
      process.stderr.write(`\r\x1b[K[${done}/${total}] ${label}`);
      if (done === total) process.stderr.write('\r\x1b[K');
      return;
    }
    const sampler = label.split(' ')[0]!;
    if (sampler !== lastSampler && done < total) process.stderr.write(`[${done}/${total}] ${label.startsWith('reference') ? label : sampler}\n`);
    lastSampler = sampler;
  };
}

export const benchSamplers: Command = {
  path: ['bench', 'samplers'],
  summary: 'compare samplers at matched NFE against the exact solution of a Gaussian-mixture problem',
  options: {
    problem: { type: 'string', placeholder: 'FILE', description: 'Gaussian-mixture problem (JSON: dim, weights, means, stds or diag_stds); default: the shipped 64-dimensional problem' },
    process: { type: 'string', placeholder: 'NAME', default: 'vp', description: `forward process: ${processNames.join('|')}` },
    grid: { type: 'string', placeholder: 'NAME', default: 'quadratic', description: `time grid, ${gridSyntax}` },
    samplers: { type: 'string', placeholder: 'a,b,...', description: `samplers to run (default: all of ${samplerNames.join(', ')})` },
    nfe: { type: 'string', placeholder: '3,5,10,...', default: defaultNfes, description: 'requested NFEs; multi-evaluation samplers use the closest they can reach' },
    n: { type: 'string', placeholder: 'N', default: '1000', description: 'number of samples' },
    seed: { type: 'string', placeholder: 'S', default: '0', description: 'seed for noise, reference samples and projections' },
    json: { type: 'boolean', description: 'print { results: [{ sampler, nfe, err, rmse, swd }], swd_floor, orders } as JSON' },
    plot: { type: 'string', placeholder: 'FILE', description: 'write an SVG chart of err against NFE' },
  },
  details: [
    'err: median over samples of each sample\'s RMS error against the reference ODE solution from the same noise',
    '(adaptive Dormand-Prince 5(4) at tolerance 1e-10); rmse: RMS over all samples; swd: sliced Wasserstein',
    'distance to fresh mixture samples, with swd_floor the same for two fresh sets; order: minus the log-log',
    'slope of err against NFE. All grids end at the data end t = 0.',
  ].join('\n'),
  async run(values) {
    const samplers = parseSamplers(values.samplers);
    const nfes = parseNfes(values.nfe);
    const samples = parseNumber('n', values.n, { integer: true, min: 2 })!;
    const seed = parseNumber('seed', values.seed, { integer: true, min: 0 })!;
    const diffusionProcess: Process = usage(() => processByName(String(values.process)));
    const gridName = String(values.grid);
    const grid: GridSpec = usage(() => parseGridSpec(gridName));
    // Settings that only fail when a grid is built (e.g. logsnr with tmin=0) are caught before the long run.
    usage(() => makeGrid(diffusionProcess, grid, 2));
    const problemPath = typeof values.problem === 'string' ? values.problem : shippedProblemPath('default-gmm');
    const mixture = usage(() => loadGaussianMixture(problemPath));
    const plotPath = typeof values.plot === 'string' ? values.plot : undefined;
    if (plotPath && !existsSync(dirname(resolve(plotPath)))) throw new UsageError(`--plot: directory of '${plotPath}' does not exist`);

    const result = await runSamplerBenchmark({ mixture, process: diffusionProcess, grid, samplers, nfes, samples, seed, onProgress: progressReporter() });
    if (plotPath) {
      const series = samplers.map((name) => ({ name, points: result.results.filter((r) => r.sampler === name).map((r) => [r.nfe, r.err] as const) }));
      const svg = lineChart(series, {
        title: `Sampler error vs NFE (${diffusionProcess.name}, ${gridName} grid, ${mixture.dim}-D mixture, n = ${samples})`,
        xLabel: 'NFE (denoiser evaluations)',
        yLabel: 'err (median per-sample RMS error vs reference)',
        xScale: 'log',
        yScale: 'log',
        width: 960,
        height: 600,
      });
      try {
        writeFileSync(plotPath, svg);
      } catch (error) {
        throw new UsageError(`cannot write --plot file '${plotPath}': ${(error as Error).message}`);
      }
    }
    if (values.json) {
      const { results, swd_floor, orders } = result;
      console.log(JSON.stringify({ results, swd_floor, orders }, null, 2));
      return;
    }
    console.log(formatTables(result, samplers, nfes, [
      `problem: ${problemPath} (${mixture.dim} dimensions, ${mixture.components} components)`,
      `process: ${diffusionProcess.name}, grid: ${gridName}, samples: ${samples}, seed: ${seed}`,
      `reference: ${result.reference.acceptedSteps} Dormand-Prince steps (${result.reference.evaluations} evaluations)`,
    ]));
  },
};
