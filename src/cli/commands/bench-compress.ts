// `hasten bench compress`: a compressed student against its teacher: the student alone, multi-U-Net
// switching at each switch point and the A-SDM stack, on the same samplers, steps and noise.

import { parseBenchConfig } from '../../bench/accel.js';
import { COMPRESS_BENCH_DEFAULTS, type CompressBenchResult, type SamplerSetting, runCompressBench } from '../../bench/compress.js';
import { BUILD_DEFAULTS, VARIANT_METHODS, type VariantMethod, builtVariant, givenVariant } from '../../bench/compress-variants.js';
import { describeSampler, parseSamplerSpec } from '../../diffusion/samplers/index.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { defineCommand } from '../command.js';
import { flag, json, list, int, num, text, UsageError } from '../options.js';
import { modelName } from '../sampling.js';

const D = COMPRESS_BENCH_DEFAULTS;

/** 'SPEC@STEPS', e.g. 'heun@18' or 'unipc:order=2@10'. */
function parseSamplerSetting(raw: string): SamplerSetting {
  const at = raw.lastIndexOf('@');
  const steps = Number(raw.slice(at + 1));
  if (at <= 0 || !Number.isInteger(steps) || steps < 1) throw new UsageError(`--sampler expects SAMPLER@STEPS, e.g. heun@18 or unipc:order=2@10, got '${raw}'`);
  return { sampler: parseSamplerSpec(raw.slice(0, at)), steps };
}

/** 'METHOD' or 'METHOD=MODEL', e.g. 'gri-attention' or 'clme-condconv=runs/shapes-small-clme'. */
function parseVariant(raw: string): { method: VariantMethod; model?: string } {
  const cut = raw.indexOf('=');
  const method = cut < 0 ? raw : raw.slice(0, cut);
  if (!(VARIANT_METHODS as readonly string[]).includes(method)) throw new UsageError(`--variant expects METHOD or METHOD=MODEL with METHOD one of ${VARIANT_METHODS.join(', ')}, got '${raw}'`);
  if (cut >= 0 && cut === raw.length - 1) throw new UsageError(`--variant ${method}=: name the model after '='`);
  return { method: method as VariantMethod, ...(cut >= 0 && { model: raw.slice(cut + 1) }) };
}

const cell = (value: number | null, digits = 3): string => (value === null ? 'n/a' : value.toPrecision(digits));

function formatCompressTable(result: CompressBenchResult): string {
  return [
    `teacher ${result.teacher}, student ${result.student ?? 'none'}; quality over n = ${result.n} samples per row (fd_floor ${cell(result.fd_floor)}); wall time: median of ${result.repeats} interleaved runs of ${result.timing_n} samples`,
    '',
    '| method | config | sampler | NFE | params | GFLOP/img | wall s | speedup | CPU s | CPU speedup | FLOP speedup | realised | FD | accuracy |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.rows.map((r) => `| ${r.method} | ${r.config} | ${r.sampler} | ${r.nfe} | ${r.params} | ${cell(r.gflops)} | ${cell(r.wall_s)} | ${cell(r.speedup)} | ${cell(r.cpu_s)} | ${cell(r.cpu_speedup)} | ${cell(r.flop_speedup)} | ${cell(r.flop_speedup_realised, 2)} | ${cell(r.fd)} | ${cell(r.accuracy)} |`),
  ].join('\n');
}

export const benchCompressCommand = defineCommand({
  path: ['bench', 'compress'],
  summary: 'a compressed student against its teacher: alone, switching between them, and stacked with training-free methods',
  options: {
    teacher: modelName('teacher', { required: true, description: 'the teacher' }),
    student: modelName('student', { description: "the student ('hasten compress' output, or any model); without it only the teacher and --variant rows run" }),
    sampler: text({ repeatable: true, parse: parseSamplerSetting, placeholder: 'SAMPLER@STEPS', description: `a sampler and its steps; repeat for several (default: ${D.samplers.map((s) => `${describeSampler(s.sampler)}@${s.steps}`).join(', ')})` }),
    'switch-above': list('number', { placeholder: 'S,S,...', above: 0, default: D.switchAbove, description: 'switching rows: the student where sigma > S, the teacher below' }),
    stack: text({ repeatable: true, parse: parseBenchConfig, placeholder: "'METHOD SPEC'", description: "stack rows: the student with this training-free config, e.g. 'deepcache every=2,branch=1'; repeat for several" }),
    'stack-switch-below': num({ placeholder: 'S', above: 0, description: 'also each stack config with the teacher where sigma < S' }),
    'without-switching': flag({ description: 'leave the switching rows out' }),
    variant: text({ repeatable: true, parse: parseVariant, placeholder: 'METHOD[=MODEL]', description: `a capacity row (${VARIANT_METHODS.join(', ')}): a trained model, or without one built untrained from the student (condconv) or teacher (gri) for cost only; repeat for several` }),
    'cond-conv': list('text', { placeholder: 'L,L,...', description: "built condconv rows: the student's residual layers made conditional" }),
    experts: int({ placeholder: 'K', min: 1, default: BUILD_DEFAULTS.experts, description: 'built condconv rows: experts per conditional convolution' }),
    window: int({ placeholder: 'W', min: 1, default: BUILD_DEFAULTS.window, description: 'built gri-attention row: side of the regional window, in tokens' }),
    pool: int({ placeholder: 'P', min: 1, default: BUILD_DEFAULTS.pool, description: 'built gri-attention row: side of the cell pooled into one global token' }),
    n: int({ placeholder: 'N', min: 2, default: D.n, description: 'samples scored per row' }),
    seed: int({ placeholder: 'S', min: 0, default: D.seed, description: 'noise seed, the same for every row' }),
    batch: int({ placeholder: 'B', min: 1, default: D.batch, description: 'samples per network call in the scored runs' }),
    'timing-n': int({ placeholder: 'N', min: 1, default: D.timingN, description: 'samples in each timed run (one batch, the same for every row)' }),
    repeats: int({ placeholder: 'N', min: 1, default: D.repeats, description: 'timed runs per row, interleaved across rows; medians are reported' }),
    json: json('print { teacher, student, n, timing_n, repeats, fd_floor, rows, machine } as JSON'),
  },
  details: [
    'Rows per sampler: teacher, student, switching (one per --switch-above), stack (one per --stack, and with --stack-switch-below), then one per --variant.',
    'Each row: params, gflops (per image, as run), wall_s, speedup (over the teacher, same sampler), cpu_s, cpu_speedup (the same in CPU time), flop_speedup, flop_speedup_realised (speedup / flop_speedup), fd, accuracy (null for rows built untrained).',
    'Example: hasten bench compress --teacher shapes --student runs/shapes-small --stack "deepcache every=2,branch=1" --json',
    'Capacity: hasten bench compress --teacher shapes --student runs/shapes-small --variant clme-condconv=runs/shapes-small-clme --variant me-condconv --cond-conv dec.1.1.res --variant gri-attention --without-switching --json',
  ].join('\n'),
  async run(values) {
    const teacher = await loadTrainedModel(values.teacher);
    const student = values.student === undefined ? undefined : await loadTrainedModel(values.student);
    const build = { ...BUILD_DEFAULTS, condConvLayers: [...(values['cond-conv'] ?? [])], experts: values.experts, window: values.window, pool: values.pool, seed: values.seed };
    const variants = [];
    for (const { method, model } of values.variant ?? []) {
      variants.push(model === undefined ? builtVariant(method, teacher, student, build) : givenVariant(method, await loadTrainedModel(model)));
    }
    const result = await runCompressBench(teacher, student, {
      ...(values.sampler && { samplers: values.sampler }),
      switchAbove: student && !values['without-switching'] ? values['switch-above'] : [],
      variants,
      stack: values.stack ?? [],
      ...(values['stack-switch-below'] !== undefined && { stackSwitchBelow: values['stack-switch-below'] }),
      n: values.n,
      seed: values.seed,
      batch: values.batch,
      timingN: values['timing-n'],
      repeats: values.repeats,
    }, (message) => process.stderr.write(`bench compress: ${message}\n`));
    console.log(values.json ? JSON.stringify(result, null, 2) : formatCompressTable(result));
  },
});
