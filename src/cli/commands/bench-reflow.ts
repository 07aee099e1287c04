// `hasten bench reflow`: rectified flow++'s ablation on a teacher (see src/bench/reflow.ts and
// docs/results/reflow.md for recorded runs).

import { writeFileSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { int, json, list, num, text, UsageError } from '../options.js';
import { outputFile } from '../output-file.js';
import { modelName, samplerName } from '../sampling.js';
import { ABLATION, REFLOW_BENCH_DEFAULTS, type ReflowBenchResult, parseSamplerChoice, runReflowBench } from '../../bench/reflow.js';
import { lineChart } from '../../plot/svg.js';
import { LOSS_BY_TIME_DEFAULTS } from '../../reflow/loss-by-time.js';
import { PAIR_DEFAULTS } from '../../reflow/pairs.js';
import { STRAIGHTNESS_DEFAULTS } from '../../reflow/straightness.js';
import { REFLOW_TRAIN_DEFAULTS } from '../../reflow/train.js';
import { TRAIN_DEFAULTS } from '../../train/trainer.js';

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

export const benchReflowCommand = defineCommand({
  path: ['bench', 'reflow'],
  summary: "rectified flow++'s ablation: students at 1 and 2 NFE beside the teacher at 1, 2, 4 and 35",
  options: {
    teacher: modelName('teacher', { default: 'toy2d', description: 'the teacher' }),
    work: text({ placeholder: 'DIR', required: true, description: 'directory for pairs and students; a rerun reuses what is finished' }),
    pairs: int({ placeholder: 'COUNT', min: 1, default: 100000, description: 'pairs from the teacher' }),
    'pair-sampler': samplerName("the teacher's sampler for the pairs", PAIR_DEFAULTS.sampler),
    'pair-steps': int({ placeholder: 'N', min: 1, default: PAIR_DEFAULTS.steps, description: 'its steps' }),
    'shard-size': int({ placeholder: 'N', min: 1, default: 10000, description: 'pairs per shard' }),
    configs: list('text', { placeholder: 'a,b,...', default: REFLOW_BENCH_DEFAULTS.configs, description: `ablation configs (${ABLATION.map((c) => c.id).join(', ')})` }),
    steps: int({ placeholder: 'N', min: 1, default: 3000, description: 'training steps of each student' }),
    batch: int({ placeholder: 'B', min: 1, default: 256, description: 'training batch' }),
    lr: num({ placeholder: 'LR', min: 0, default: 1e-3, description: 'peak learning rate' }),
    warmup: int({ placeholder: 'N', min: 0, default: REFLOW_TRAIN_DEFAULTS.warmup, description: 'warm-up steps' }),
    'ema-half-life': num({ placeholder: 'IMAGES', min: 0, default: TRAIN_DEFAULTS.emaHalfLifeImages, description: 'EMA half-life in training samples' }),
    n: int({ placeholder: 'N', min: 2, default: 4000, description: 'samples per evaluation (2-D points: MMD, computed alongside, costs O(n²))' }),
    seed: int({ placeholder: 'S', min: 0, default: 0, description: 'seed of pairs, training and evaluation noise' }),
    'eval-batch': int({ placeholder: 'B', min: 1, default: 1000, description: 'samples per network call when evaluating' }),
    'teacher-nfe': list('int', { placeholder: '1,2,...', min: 1, default: REFLOW_BENCH_DEFAULTS.teacherNfes, description: 'NFEs of the teacher rows' }),
    'teacher-samplers': text({ placeholder: 'a,b@grid,...', default: REFLOW_BENCH_DEFAULTS.teacherSamplers.map((c) => (c.grid ? `${c.sampler}@${c.grid}` : c.sampler)).join(','), parse: (raw: string) => raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(parseSamplerChoice), description: "candidates for the teacher's best sampler (NAME or NAME@GRID)" }),
    'straightness-steps': int({ placeholder: 'N', min: 1, default: STRAIGHTNESS_DEFAULTS.steps, description: 'Euler steps of the straightness paths' }),
    'straightness-n': int({ placeholder: 'N', min: 1, default: STRAIGHTNESS_DEFAULTS.n, description: 'samples for straightness' }),
    'loss-bins': int({ placeholder: 'N', min: 1, default: LOSS_BY_TIME_DEFAULTS.bins, description: 'times of the loss by time (teacher and baseline)' }),
    'loss-pairs': int({ placeholder: 'N', min: 1, default: LOSS_BY_TIME_DEFAULTS.count, description: 'pairs per time of the loss by time' }),
    features: text({ placeholder: 'DIR', description: 'feature network (default: the one shipped for the dataset)' }),
    plot: outputFile(['.svg'], { description: 'write the loss by time of the teacher and the baseline as an SVG chart' }),
    json: json('print { rows: [{ model, config, sampler, steps, nfe, fd|swd, accuracy, straightness }], floor, teacher_candidates, loss_vs_t, seconds }'),
  },
  details: 'The defaults are the recorded toy2d run (docs/results/reflow.md). Images report fd (and class accuracy); 2-D points report swd, with accuracy null.\nExample: hasten bench reflow --teacher toy2d --work runs/bench-reflow-toy2d --json',
  async run(values) {
    const { work, seed, configs } = values;
    const unknown = configs.filter((id) => !ABLATION.some((c) => c.id === id));
    if (unknown.length > 0) throw new UsageError(`unknown ablation config ${unknown.map((u) => `'${u}'`).join(', ')} (known: ${ABLATION.map((c) => c.id).join(', ')})`);
    const batch = values['eval-batch'];
    const result = await runReflowBench({
      teacher: values.teacher,
      work,
      pairs: { ...PAIR_DEFAULTS, sampler: values['pair-sampler'], steps: values['pair-steps'], count: values.pairs, shardSize: values['shard-size'], seed },
      training: {
        steps: values.steps,
        batch: values.batch,
        lr: values.lr,
        warmup: values.warmup,
        emaHalfLifeImages: values['ema-half-life'],
        checkpointEvery: values.steps,
        seed,
      },
      configs,
      n: values.n,
      seed,
      batch,
      teacherNfes: values['teacher-nfe'],
      teacherSamplers: values['teacher-samplers'],
      studentSamplers: REFLOW_BENCH_DEFAULTS.studentSamplers,
      straightness: { steps: values['straightness-steps'], n: values['straightness-n'], seed, batch },
      lossByTime: { bins: values['loss-bins'], count: values['loss-pairs'], batch },
      ...(values.features !== undefined && { features: values.features }),
    }, (message) => process.stderr.write(`${message}\n`));
    if (values.plot !== undefined) {
      const series = Object.entries(result.loss_vs_t).map(([name, curve]) => ({ name, points: curve.map((p) => [p.t, p.loss] as const) }));
      writeFileSync(values.plot, lineChart(series, { title: `Reflow loss by time (${String(values.teacher)} pairs)`, xLabel: 't', yLabel: 'E (v - (z - x0))² per coordinate', yScale: 'log' }));
    }
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else console.log(formatTable(result));
  },
});
