// `hasten bench accel`: training-free accelerations against the plain model (speedup, FLOPs, FD,
// accuracy, drift from the plain samples) and Skip-Tuning's FD over factor x NFE.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccelConfig } from '../../accel/config.js';
import { ACCEL_BENCH_DEFAULTS, type AccelBenchResult, DEFAULT_BENCH_CONFIGS, type SweepPoint, type SweepRunner, parseBenchConfig, runAccelBench } from '../../bench/accel.js';
import type { SweepSettings } from '../../scale/jobs/sweep.js';
import { isSharded, portableModel, runShardedCommand, scaleOptions } from '../scale.js';
import { lineChart } from '../../plot/svg.js';
import { defineCommand } from '../command.js';
import { flag, int, json, list, text, UsageError } from '../options.js';
import { conditioningOptions, modelName, openSamplingModel, samplerName } from '../sampling.js';

const D = ACCEL_BENCH_DEFAULTS;

/** One --config value: 'METHOD SPEC', or FILE.json holding an array of them. */
function parseConfigs(value: string): AccelConfig[] {
  if (!value.endsWith('.json')) return [parseBenchConfig(value)];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(value, 'utf8'));
  } catch (error) {
    throw new UsageError(`--config: cannot read '${value}': ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw new UsageError(`--config: '${value}' must hold a JSON array of 'METHOD SPEC' strings`);
  return parsed.map(parseBenchConfig);
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
  if (result.baseline !== undefined) {
    lines.push('', `baseline ${result.baseline}, timed interleaved with this build:`, '', '| config | baseline wall s | wall s | baseline speedup | speedup | baseline realised | realised | same samples |', '|---|---:|---:|---:|---:|---:|---:|---|');
    for (const r of result.rows) {
      const b = r.baseline!;
      lines.push(`| ${r.config} | ${cell(b.wall_s)} | ${cell(r.wall_s)} | ${cell(b.speedup)} | ${cell(r.speedup)} | ${cell(b.flop_speedup_realised, 2)} | ${cell(r.flop_speedup_realised, 2)} | ${b.same_samples ? 'yes' : 'no'} |`);
    }
  }
  if (result.sweep.length > 0) {
    const factors = [...new Set(result.sweep.map((p) => p.factor))];
    lines.push('', 'Skip-Tuning sweep, FD (best factor, and its FD gain over factor 1):', '', `| NFE | ${factors.map((factor) => `factor ${factor}`).join(' | ')} | best factor | gain |`, `|---:|${factors.map(() => '---:|').join('')}---:|---:|`);
    for (const nfe of new Set(result.sweep.map((p) => p.nfe))) {
      const points = result.sweep.filter((p) => p.nfe === nfe);
      const scored = points.filter((p) => p.fd !== null);
      const best = scored.length > 0 ? scored.reduce((a, b) => (b.fd! < a.fd! ? b : a)) : undefined;
      const atOne = scored.find((p) => p.factor === 1);
      const gain = best && atOne ? `${(100 * (1 - best.fd! / atOne.fd!)).toFixed(0)}%` : 'n/a';
      lines.push(`| ${nfe} | ${points.map((p) => cell(p.fd)).join(' | ')} | ${best?.factor ?? 'n/a'} | ${gain} |`);
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
      [...new Set(result.sweep.map((p) => p.nfe))].map((nfe) => ({ name: `NFE ${nfe}`, points: result.sweep.filter((p) => p.nfe === nfe).map((p) => [p.factor, p.fd ?? NaN] as const) })),
      { title: `Skip-Tuning: FD vs skip factor (${result.sampler}, ${setting})`, xLabel: 'skip factor', yLabel: 'FD (lower is better)', width: 960, height: 600 },
    );
  }
  for (const [name, svg] of Object.entries(charts)) writeFileSync(join(dir, name), svg);
}

export const benchAccelCommand = defineCommand({
  path: ['bench', 'accel'],
  summary: 'compare training-free accelerations with the plain model: speedup, FLOPs, FD, accuracy, drift',
  renamed: { 'sweep-rho': 'use --sweep-factors (rho names the noise level sigma/alpha, not the Skip-Tuning factor)' },
  options: {
    model: modelName('model', { required: true, description: 'the model' }, 'any'),
    ...conditioningOptions,
    sampler: samplerName('sampler of every config', D.sampler),
    steps: int({ placeholder: 'N', min: 1, default: D.steps, description: 'sampler steps of every config' }),
    n: int({ placeholder: 'N', min: 2, default: D.n, description: 'samples scored per config and per sweep point' }),
    seed: int({ placeholder: 'S', min: 0, default: D.seed, description: 'noise seed, the same for every config' }),
    batch: int({ placeholder: 'B', min: 1, default: D.batch, description: 'samples per network call in the scored runs' }),
    'timing-n': int({ placeholder: 'N', min: 1, default: D.timingN, description: 'samples in each timed run (one batch, the same for every config)' }),
    repeats: int({ placeholder: 'N', min: 1, default: D.repeats, description: 'timed runs per config, interleaved across configs; medians are reported' }),
    config: text({ repeatable: true, parse: parseConfigs, placeholder: "'METHOD SPEC'|FILE.json", description: "a config to compare, e.g. 'deepcache every=3,branch=1' or 'skip-tuning 0.8 + deepcache every=3' (a .json file holds an array of them); default: the list below" }),
    'sweep-factors': list('number', { placeholder: 'F,F,...', above: 0, default: D.sweepFactors, description: 'Skip-Tuning factors of the sweep' }),
    'sweep-nfe': list('int', { placeholder: 'N,N,...', min: 1, default: D.sweepNfe, description: 'NFEs of the sweep' }),
    'no-sweep': flag({ description: 'skip the Skip-Tuning sweep' }),
    plots: text({ placeholder: 'DIR', description: 'write accel-speed-quality.svg and accel-sweep.svg there' }),
    baseline: text({ placeholder: 'DIR', description: "another built hasten checkout: each timed run is paired with the same run on its code, and each row gains the baseline's wall time, realised fraction and whether its samples are the same bit for bit" }),
    ...scaleOptions,
    json: json('print { model, sampler, steps, n, timing_n, repeats, fd_floor, rows, sweep, machine } as JSON'),
  },
  details: [
    'The plain model is always the first row. Each row: wall_s (median timed run), speedup, gflops (per image, as run),',
    'flop_speedup (plain gflops / gflops), flop_speedup_realised (speedup / flop_speedup), fd and accuracy (null when',
    'no feature network fits the data), rmse_to_plain (against the plain samples from the same noise).',
    `Default configs: plain, ${DEFAULT_BENCH_CONFIGS.map((c) => `'${c}'`).join(', ')}.`,
  ].join('\n'),
  async run(values) {
    const configs = values.config?.flat();
    const settings = {
      sampler: values.sampler,
      steps: values.steps,
      n: values.n,
      seed: values.seed,
      batch: values.batch,
      timingN: values['timing-n'],
      repeats: values.repeats,
      sweepFactors: values['sweep-factors'],
      sweepNfe: values['no-sweep'] ? [] : values['sweep-nfe'],
      ...(configs ? { configs } : {}),
      ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
    };
    const plots = values.plots;
    if (plots !== undefined) {
      try {
        mkdirSync(plots, { recursive: true });
      } catch (error) {
        throw new UsageError(`--plots: cannot create '${plots}': ${(error as Error).message}`);
      }
    }
    if (values.baseline !== undefined && !existsSync(join(values.baseline, 'dist', 'src', 'pipeline', 'generate.js'))) throw new UsageError(`--baseline: '${values.baseline}' is not a built hasten checkout (no dist/src/pipeline/generate.js; run npm ci there)`);
    const { model } = await openSamplingModel({ ...values, n: settings.n });
    // With --workers or --queue the sweep's points are shards (the timed rows stay in this process: they compare wall clocks).
    let runSweep: SweepRunner | undefined;
    if (isSharded(values)) {
      if (!('params' in model)) throw new UsageError(`--workers and --queue shard the sweep of hasten models; '${values.model}' is an imported model`);
      const sweepModel = portableModel(values.model, model);
      runSweep = async (points) => (await runShardedCommand<SweepPoint[]>('sweep', { model: sweepModel, sampler: settings.sampler, n: settings.n, seed: settings.seed, batch: settings.batch, points, shardSize: 1 } satisfies SweepSettings, values, 'bench accel sweep')).result;
    }
    const result = await runAccelBench(model, settings, (message) => process.stderr.write(`bench accel: ${message}\n`), runSweep);
    if (plots !== undefined) writePlots(plots, result);
    console.log(values.json ? JSON.stringify(result, null, 2) : formatTables(result));
  },
});
