// `hasten bench accel`: training-free accelerations against the plain model (speedup, FLOPs, FD,
// accuracy, drift from the plain samples) and Skip-Tuning's FD over rho x NFE.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccelConfig } from '../../accel/config.js';
import { AccelSettingError } from '../../accel/errors.js';
import { ACCEL_BENCH_DEFAULTS, type AccelBenchResult, DEFAULT_BENCH_CONFIGS, parseBenchConfig, runAccelBench } from '../../bench/accel.js';
import { lineChart } from '../../plot/svg.js';
import { type Command, UsageError, parseList, parseNumber } from '../command.js';
import { asUsageError, checkSampler, openModel } from './sample.js';

const D = ACCEL_BENCH_DEFAULTS;

/** --config values: 'METHOD SPEC' strings, or FILE.json holding an array of them. */
function parseConfigs(raw: string[] | undefined): AccelConfig[] | undefined {
  if (!raw) return undefined;
  const specs = raw.flatMap((value) => {
    if (!value.endsWith('.json')) return [value];
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(value, 'utf8'));
    } catch (error) {
      throw new UsageError(`--config: cannot read '${value}': ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw new UsageError(`--config: '${value}' must hold a JSON array of 'METHOD SPEC' strings`);
    return parsed as string[];
  });
  try {
    return specs.map(parseBenchConfig);
  } catch (error) {
    if (error instanceof AccelSettingError) throw new UsageError(`--config: ${error.message}`);
    throw error;
  }
}

function parseNumbers(flag: string, raw: string | boolean | undefined, integer: boolean): number[] {
  const items = parseList(raw) ?? [];
  if (items.length === 0) throw new UsageError(`--${flag} expects a comma-separated list of numbers`);
  return items.map((item) => {
    const value = parseNumber(flag, item, { integer, min: integer ? 1 : 0 })!;
    if (value === 0) throw new UsageError(`--${flag}: values must be > 0, got '${item}'`);
    return value;
  });
}

const cell = (value: number | null, digits = 3): string => (value === null ? 'n/a' : value.toPrecision(digits));

function formatTables(result: AccelBenchResult): string {
  const lines = [
    `model ${result.model}, ${result.sampler} ${result.steps} steps; quality over n = ${result.n} samples per config (fd_floor ${cell(result.fd_floor)}); wall time: median of ${result.repeats} interleaved runs of ${result.timing_n} samples`,
    '',
    '| config | NFE | wall s | speedup | GFLOP/img | FLOP speedup | realised | FD | accuracy | RMSE to plain |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.rows.map((r) => `| ${r.config} | ${r.nfe} | ${cell(r.wall_s)} | ${cell(r.speedup)} | ${cell(r.gflops)} | ${cell(r.flop_speedup)} | ${cell(r.flop_speedup_realised, 2)} | ${cell(r.fd)} | ${cell(r.accuracy)} | ${cell(r.rmse_to_plain)} |`),
  ];
  if (result.sweep.length > 0) {
    const rhos = [...new Set(result.sweep.map((p) => p.rho))];
    lines.push('', 'Skip-Tuning sweep, FD (best rho, and its FD gain over rho = 1):', '', `| NFE | ${rhos.map((rho) => `rho ${rho}`).join(' | ')} | best rho | gain |`, `|---:|${rhos.map(() => '---:|').join('')}---:|---:|`);
    for (const nfe of new Set(result.sweep.map((p) => p.nfe))) {
      const points = result.sweep.filter((p) => p.nfe === nfe);
      const scored = points.filter((p) => p.fd !== null);
      const best = scored.length > 0 ? scored.reduce((a, b) => (b.fd! < a.fd! ? b : a)) : undefined;
      const atOne = scored.find((p) => p.rho === 1);
      const gain = best && atOne ? `${(100 * (1 - best.fd! / atOne.fd!)).toFixed(0)}%` : 'n/a';
      lines.push(`| ${nfe} | ${points.map((p) => cell(p.fd)).join(' | ')} | ${best?.rho ?? 'n/a'} | ${gain} |`);
    }
  }
  return lines.join('\n');
}

function writePlots(dir: string, result: AccelBenchResult): void {
  const setting = `${result.model}, n = ${result.n}`;
  const charts: Record<string, string> = {
    'accel-speed-quality.svg': lineChart(
      [...new Set(result.rows.map((r) => r.method))].map((method) => ({
        name: method,
        points: result.rows.filter((r) => r.method === method).sort((a, b) => a.speedup - b.speedup).map((r) => [r.speedup, r.fd ?? NaN] as const),
      })),
      { title: `Speed vs quality (${result.sampler}, ${result.steps} steps, ${setting})`, xLabel: 'wall-clock speedup over plain', yLabel: 'FD (lower is better)', width: 960, height: 600 },
    ),
  };
  if (result.sweep.length > 0) {
    charts['accel-sweep.svg'] = lineChart(
      [...new Set(result.sweep.map((p) => p.nfe))].map((nfe) => ({ name: `NFE ${nfe}`, points: result.sweep.filter((p) => p.nfe === nfe).map((p) => [p.rho, p.fd ?? NaN] as const) })),
      { title: `Skip-Tuning: FD vs rho (${result.sampler}, ${setting})`, xLabel: 'rho (skip factor)', yLabel: 'FD (lower is better)', width: 960, height: 600 },
    );
  }
  for (const [name, svg] of Object.entries(charts)) writeFileSync(join(dir, name), svg);
}

export const benchAccelCommand: Command = {
  path: ['bench', 'accel'],
  summary: 'compare training-free accelerations with the plain model: speedup, FLOPs, FD, accuracy, drift',
  options: {
    model: { type: 'string', placeholder: 'NAME|PATH', description: 'a shipped model name or a training output directory' },
    sampler: { type: 'string', placeholder: 'NAME', description: 'sampler of every config', default: D.sampler },
    steps: { type: 'string', placeholder: 'N', description: 'sampler steps of every config', default: String(D.steps) },
    n: { type: 'string', placeholder: 'N', description: 'samples scored per config and per sweep point', default: String(D.n) },
    seed: { type: 'string', placeholder: 'S', description: 'noise seed, the same for every config', default: String(D.seed) },
    batch: { type: 'string', placeholder: 'B', description: 'samples per network call in the scored runs', default: String(D.batch) },
    'timing-n': { type: 'string', placeholder: 'N', description: 'samples in each timed run (one batch, the same for every config)', default: String(D.timingN) },
    repeats: { type: 'string', placeholder: 'N', description: 'timed runs per config, interleaved across configs; medians are reported', default: String(D.repeats) },
    config: { type: 'string', multiple: true, placeholder: "'METHOD SPEC'|FILE.json", description: "a config to compare, e.g. 'deepcache every=3,branch=1' or 'skip-tuning 0.8 + deepcache every=3' (repeatable; a .json file holds an array of them); default: the list below" },
    'sweep-rho': { type: 'string', placeholder: 'R,R,...', description: 'Skip-Tuning factors of the sweep', default: D.sweepRho.join(',') },
    'sweep-nfe': { type: 'string', placeholder: 'N,N,...', description: 'NFEs of the sweep', default: D.sweepNfe.join(',') },
    'no-sweep': { type: 'boolean', description: 'skip the Skip-Tuning sweep' },
    plots: { type: 'string', placeholder: 'DIR', description: 'write accel-speed-quality.svg and accel-sweep.svg there' },
    json: { type: 'boolean', description: 'print { model, sampler, steps, n, timing_n, repeats, fd_floor, rows, sweep, machine } as JSON' },
  },
  details: [
    'The plain model is always the first row. Each row: wall_s (median timed run), speedup, gflops (per image, as run),',
    'flop_speedup (plain gflops / gflops), flop_speedup_realised (speedup / flop_speedup), fd and accuracy (null when',
    'no feature network fits the data), rmse_to_plain (against the plain samples from the same noise).',
    `Default configs: plain, ${DEFAULT_BENCH_CONFIGS.map((c) => `'${c}'`).join(', ')}.`,
  ].join('\n'),
  async run(values) {
    const configs = parseConfigs(values.config as unknown as string[] | undefined);
    const settings = {
      sampler: checkSampler(values.sampler),
      steps: parseNumber('steps', values.steps, { integer: true, min: 1 })!,
      n: parseNumber('n', values.n, { integer: true, min: 2 })!,
      seed: parseNumber('seed', values.seed, { integer: true, min: 0 })!,
      batch: parseNumber('batch', values.batch, { integer: true, min: 1 })!,
      timingN: parseNumber('timing-n', values['timing-n'], { integer: true, min: 1 })!,
      repeats: parseNumber('repeats', values.repeats, { integer: true, min: 1 })!,
      sweepRho: parseNumbers('sweep-rho', values['sweep-rho'], false),
      sweepNfe: values['no-sweep'] ? [] : parseNumbers('sweep-nfe', values['sweep-nfe'], true),
      ...(configs ? { configs } : {}),
    };
    const plots = values.plots as string | undefined;
    if (plots !== undefined) {
      try {
        mkdirSync(plots, { recursive: true });
      } catch (error) {
        throw new UsageError(`--plots: cannot create '${plots}': ${(error as Error).message}`);
      }
    }
    const trained = await openModel(values.model);
    let result;
    try {
      result = await runAccelBench(trained, settings, (message) => process.stderr.write(`bench accel: ${message}\n`));
    } catch (error) {
      throw asUsageError(error);
    }
    if (plots !== undefined) writePlots(plots, result);
    console.log(values.json ? JSON.stringify(result, null, 2) : formatTables(result));
  },
};
