// `hasten bench reflow`: rectified flow++'s ablation on a teacher (see src/bench/reflow.ts and
// docs/results/reflow.md for recorded runs).

import { writeFileSync } from 'node:fs';
import { type Command, UsageError, parseList, parseNumber } from '../command.js';
import { ABLATION, REFLOW_BENCH_DEFAULTS, type ReflowBenchResult, parseSamplerChoice, runReflowBench } from '../../bench/reflow.js';
import { lineChart } from '../../plot/svg.js';
import { LOSS_BY_TIME_DEFAULTS } from '../../reflow/loss-by-time.js';
import { PAIR_DEFAULTS } from '../../reflow/pairs.js';
import { STRAIGHTNESS_DEFAULTS } from '../../reflow/straightness.js';
import { REFLOW_TRAIN_DEFAULTS } from '../../reflow/train.js';
import { TRAIN_DEFAULTS } from '../../train/trainer.js';
import { checkSampler } from './sample.js';

function formatTable(result: ReflowBenchResult): string {
  const metric = result.rows.some((r) => r.fd !== undefined) ? 'fd' : 'swd';
  const floor = result.floor.fd_floor ?? result.floor.swd_floor;
  const lines = [`| model | config | sampler | NFE | ${metric} | accuracy | straightness |`, '|---|---|---|---:|---:|---:|---:|'];
  for (const row of result.rows) {
    const accuracy = row.accuracy === null ? '' : `${(100 * row.accuracy).toFixed(1)}%`;
    lines.push(`| ${row.model} | ${row.config} | ${row.sampler} | ${row.nfe} | ${(row[metric] ?? NaN).toPrecision(3)} | ${accuracy} | ${row.straightness.toPrecision(3)} |`);
  }
  lines.push('', `${metric} floor (real vs real at the same n): ${floor?.toPrecision(3)}`);
  lines.push(`seconds: ${Object.entries(result.seconds).map(([phase, s]) => `${phase} ${s.toFixed(0)}`).join(', ')}`);
  return lines.join('\n');
}

export const benchReflowCommand: Command = {
  path: ['bench', 'reflow'],
  summary: "rectified flow++'s ablation: students at 1 and 2 NFE beside the teacher at 1, 2, 4 and 35",
  options: {
    teacher: { type: 'string', placeholder: 'NAME|PATH', description: 'the teacher', default: 'toy2d' },
    work: { type: 'string', placeholder: 'DIR', description: 'directory for pairs and students; a rerun reuses what is finished' },
    pairs: { type: 'string', placeholder: 'COUNT', description: 'pairs from the teacher', default: '100000' },
    'pair-sampler': { type: 'string', placeholder: 'NAME', description: "the teacher's sampler for the pairs", default: PAIR_DEFAULTS.sampler },
    'pair-steps': { type: 'string', placeholder: 'N', description: 'its steps', default: String(PAIR_DEFAULTS.steps) },
    'shard-size': { type: 'string', placeholder: 'N', description: 'pairs per shard', default: '10000' },
    configs: { type: 'string', placeholder: 'a,b,...', description: `ablation configs (default all: ${ABLATION.map((c) => c.id).join(', ')})` },
    steps: { type: 'string', placeholder: 'N', description: 'training steps of each student', default: '3000' },
    batch: { type: 'string', placeholder: 'B', description: 'training batch', default: '256' },
    lr: { type: 'string', placeholder: 'LR', description: 'peak learning rate', default: '1e-3' },
    warmup: { type: 'string', placeholder: 'N', description: 'warm-up steps', default: String(REFLOW_TRAIN_DEFAULTS.warmup) },
    'ema-half-life': { type: 'string', placeholder: 'IMAGES', description: 'EMA half-life in training samples', default: String(TRAIN_DEFAULTS.emaHalfLifeImages) },
    n: { type: 'string', placeholder: 'N', description: 'samples per evaluation (2-D points: MMD, computed alongside, costs O(n²))', default: '4000' },
    seed: { type: 'string', placeholder: 'S', description: 'seed of pairs, training and evaluation noise', default: '0' },
    'eval-batch': { type: 'string', placeholder: 'B', description: 'samples per network call when evaluating', default: '1000' },
    'teacher-nfe': { type: 'string', placeholder: '1,2,...', description: 'NFEs of the teacher rows', default: REFLOW_BENCH_DEFAULTS.teacherNfes.join(',') },
    'teacher-samplers': { type: 'string', placeholder: 'a,b@grid,...', description: 'candidates for the teacher\'s best sampler (NAME or NAME@GRID)', default: REFLOW_BENCH_DEFAULTS.teacherSamplers.map((c) => (c.grid ? `${c.sampler}@${c.grid}` : c.sampler)).join(',') },
    'straightness-steps': { type: 'string', placeholder: 'N', description: 'Euler steps of the straightness paths', default: String(STRAIGHTNESS_DEFAULTS.steps) },
    'straightness-n': { type: 'string', placeholder: 'N', description: 'samples for straightness', default: String(STRAIGHTNESS_DEFAULTS.n) },
    'loss-bins': { type: 'string', placeholder: 'N', description: 'times of the loss by time (teacher and baseline)', default: String(LOSS_BY_TIME_DEFAULTS.bins) },
    'loss-pairs': { type: 'string', placeholder: 'N', description: 'pairs per time of the loss by time', default: String(LOSS_BY_TIME_DEFAULTS.count) },
    features: { type: 'string', placeholder: 'DIR', description: 'feature network (default: the one shipped for the dataset)' },
    plot: { type: 'string', placeholder: 'FILE.svg', description: 'write the loss by time of the teacher and the baseline as an SVG chart' },
    json: { type: 'boolean', description: 'print { rows: [{ model, config, sampler, steps, nfe, fd|swd, accuracy, straightness }], floor, teacher_candidates, loss_vs_t, seconds }' },
  },
  details: 'The defaults are the recorded toy2d run (docs/results/reflow.md). Images report fd (and class accuracy); 2-D points report swd, with accuracy null.\nExample: hasten bench reflow --teacher toy2d --work runs/bench-reflow-toy2d --json',
  async run(values) {
    const work = values.work as string | undefined;
    if (!work) throw new UsageError('--work DIR is required');
    const list = (flag: string) => parseList(values[flag]) ?? [];
    const integer = (flag: string, min = 1) => parseNumber(flag, values[flag], { integer: true, min })!;
    const seed = integer('seed', 0);
    let teacherSamplers;
    try {
      teacherSamplers = list('teacher-samplers').map(parseSamplerChoice);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const configs = parseList(values.configs) ?? REFLOW_BENCH_DEFAULTS.configs;
    const unknown = configs.filter((id) => !ABLATION.some((c) => c.id === id));
    if (unknown.length > 0) throw new UsageError(`unknown ablation config ${unknown.map((u) => `'${u}'`).join(', ')} (known: ${ABLATION.map((c) => c.id).join(', ')})`);
    const batch = integer('eval-batch');
    const result = await runReflowBench({
      teacher: String(values.teacher),
      work,
      pairs: { ...PAIR_DEFAULTS, sampler: checkSampler(values['pair-sampler']), steps: integer('pair-steps'), count: integer('pairs'), shardSize: integer('shard-size'), seed },
      training: {
        steps: integer('steps'),
        batch: integer('batch'),
        lr: parseNumber('lr', values.lr, { min: 0 })!,
        warmup: integer('warmup', 0),
        emaHalfLifeImages: parseNumber('ema-half-life', values['ema-half-life'], { min: 0 })!,
        checkpointEvery: integer('steps'),
        seed,
      },
      configs,
      n: integer('n', 2),
      seed,
      batch,
      teacherNfes: list('teacher-nfe').map((raw) => parseNumber('teacher-nfe', raw, { integer: true, min: 1 })!),
      teacherSamplers,
      studentSamplers: REFLOW_BENCH_DEFAULTS.studentSamplers,
      straightness: { steps: integer('straightness-steps'), n: integer('straightness-n'), seed, batch },
      lossByTime: { bins: integer('loss-bins'), count: integer('loss-pairs'), batch },
      ...(typeof values.features === 'string' && { features: values.features }),
    }, (message) => process.stderr.write(`${message}\n`));
    if (typeof values.plot === 'string') {
      const series = Object.entries(result.loss_vs_t).map(([name, curve]) => ({ name, points: curve.map((p) => [p.t, p.loss] as const) }));
      writeFileSync(values.plot, lineChart(series, { title: `Reflow loss by time (${String(values.teacher)} pairs)`, xLabel: 't', yLabel: 'E (v - (z - x0))² per coordinate', yScale: 'log' }));
    }
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else console.log(formatTable(result));
  },
};
