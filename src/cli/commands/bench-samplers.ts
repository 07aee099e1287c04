// `hasten bench samplers`: every sampler against the exact solution of a Gaussian-mixture
// problem, at matched NFE. See docs/results/samplers.md for recorded runs.

import { writeFileSync } from 'node:fs';
import { loadGaussianMixture, shippedProblemPath } from '../../diffusion/gmm.js';
import { gridSyntax, makeGrid, parseGridSpec } from '../../diffusion/grids.js';
import { processByName, processNames } from '../../diffusion/process.js';
import { runSamplerBenchmark, type SamplerBenchmarkResult } from '../../bench/samplers.js';
import { getSampler, samplerNames, stepsForNfe } from '../../diffusion/samplers/index.js';
import { lineChart } from '../../plot/svg.js';
import { defineCommand } from '../command.js';
import { int, json, list, text, UsageError } from '../options.js';
import { outputFile } from '../output-file.js';

const defaultNfes = [3, 5, 8, 10, 15, 20, 30, 50, 100, 200];

function parseSamplers(raw: string): string[] {
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
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

export const benchSamplers = defineCommand({
  path: ['bench', 'samplers'],
  summary: 'compare samplers at matched NFE against the exact solution of a Gaussian-mixture problem',
  options: {
    problem: text({ placeholder: 'FILE', description: 'Gaussian-mixture problem (JSON: dim, weights, means, stds or diag_stds); default: the shipped 64-dimensional problem' }),
    process: text({ placeholder: 'NAME', default: 'vp', parse: processByName, description: `forward process: ${processNames.join('|')}` }),
    grid: text({ placeholder: 'NAME', default: 'quadratic', description: `time grid, ${gridSyntax}` }),
    samplers: text({ placeholder: 'a,b,...', parse: parseSamplers, description: `samplers to run (default: all of ${samplerNames.join(', ')})` }),
    nfe: list('int', { placeholder: '3,5,10,...', min: 1, default: defaultNfes, description: 'requested NFEs; multi-evaluation samplers use the closest they can reach' }),
    n: int({ placeholder: 'N', min: 2, default: 1000, description: 'number of samples' }),
    seed: int({ placeholder: 'S', min: 0, default: 0, description: 'seed for noise, reference samples and projections' }),
    json: json('print { results: [{ sampler, nfe, err, rmse, swd }], swd_floor, orders } as JSON'),
    plot: outputFile(['.svg'], { description: 'write an SVG chart of err against NFE' }),
  },
  details: [
    'err: median over samples of each sample\'s RMS error against the reference ODE solution from the same noise',
    '(adaptive Dormand-Prince 5(4) at tolerance 1e-10); rmse: RMS over all samples; swd: sliced Wasserstein',
    'distance to fresh mixture samples, with swd_floor the same for two fresh sets; order: minus the log-log',
    'slope of err against NFE. All grids end at the data end t = 0.',
  ].join('\n'),
  async run(values) {
    const { nfe: nfes, n: samples, seed, process: diffusionProcess, grid: gridName, plot: plotPath } = values;
    const samplers = values.samplers ?? [...samplerNames];
    const grid = parseGridSpec(gridName);
    // Settings that only fail when a grid is built (e.g. logsnr with tmin=0) are caught before the long run.
    makeGrid(diffusionProcess, grid, 2);
    const problemPath = values.problem ?? shippedProblemPath('default-gmm');
    const mixture = loadGaussianMixture(problemPath);

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
});
