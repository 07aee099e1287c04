// `hasten eval`: sample quality of a model with a sampler, each distance beside its real-vs-real floor.

import { resolve } from 'node:path';
import { UsageError, defineCommand } from '../command.js';
import { int, json, text } from '../options.js';
import { conditioningOptions, generateOptions, openSamplingModel, openSwitches, samplingOptions, switchOption } from '../sampling.js';
import { describeAccel } from '../../accel/config.js';
import { describeSampler } from '../../diffusion/samplers/index.js';
import { EVALUATION_DEFAULTS } from '../../eval/evaluate.js';
import { type ModelEvaluation, evaluateModel, evaluationData } from '../../pipeline/evaluate-model.js';
import type { EvalSettings } from '../../scale/jobs/eval.js';
import { isSharded, portableModel, runShardedCommand, sampleShardSize, samplingSettings, scaleOptions, unshardable } from '../scale.js';
import { describeSwitch } from '../../pipeline/switching.js';
import { isTrainedModel } from '../../pipeline/generate.js';
import { Progress } from '../progress.js';
import { memoryConditions, memorySamplingOptions } from '../memory.js';

export const evalCommand = defineCommand({
  path: ['eval'],
  summary: 'measure sample quality (FD, KID, class accuracy; or SWD, MMD for points) against real data',
  options: {
    ...samplingOptions,
    ...conditioningOptions,
    ...memorySamplingOptions,
    switch: switchOption,
    n: int({ placeholder: 'N', min: 2, default: 2000, description: 'samples to generate and compare' }),
    data: text({ placeholder: 'DATASET', description: 'imported models: the data to compare with, opened at the model\'s sample size (e.g. shapes, folder:PATH); hasten models use their own' }),
    features: text({ placeholder: 'DIR', description: 'feature network for FD/KID (default: the shipped one for the dataset)' }),
    'real-sets': int({ placeholder: 'K', min: 2, default: EVALUATION_DEFAULTS.realSets, description: 'independent real sets (and pairs for the floor) behind each mean and ± spread' }),
    ...scaleOptions,
    'shard-size': sampleShardSize,
    json: json(),
  },
  details: [
    'Image models report fd, fd_floor, kid, kid_floor, accuracy and class_accuracy (conditional models), nfe, wall_s; point models report swd, swd_floor, mmd, mmd_floor, nfe, wall_s.',
    'Each distance is the mean over K independent real sets and each floor over K pairs of them; X_std is the standard deviation over those K (docs/eval.md).',
    'An imported model (hasten import) is compared with --data DATASET, which must match its channels and size; one with class labels (class_labels) reports accuracy against the classes it drew, like hasten\'s own.',
    'With --workers N or --queue URL the samples are drawn and featurised in shards (docs/scale.md); the figures equal a one-process run bit for bit.',
  ].join('\n'),
  async run(values) {
    const options = generateOptions(values);
    const { model, classes } = await openSamplingModel(values);
    const switches = await openSwitches(values.switch);
    if (switches.length > 0 && !isTrainedModel(model)) throw new UsageError(`--switch combines hasten models; '${values.model}' is an imported model`);
    const memory = await memoryConditions(model, values, options.n, options.seed);
    let result;
    if (isSharded(values)) {
      if (!isTrainedModel(model)) throw new UsageError(`--workers and --queue shard the evaluation of hasten models; '${values.model}' is an imported model`);
      unshardable((switches.length > 0 && '--switch') || (memory !== undefined && 'memory conditioning'));
      evaluationData(model, values.data); // a hasten model's own data: refuses --data
      const settings: EvalSettings = { ...samplingSettings(portableModel(values.model, model), options, classes, values['shard-size']), realSets: values['real-sets'], ...(values.features !== undefined && { features: resolve(values.features) }) };
      result = (await runShardedCommand<ModelEvaluation>('eval', settings, values, 'eval')).result;
    } else {
      const progress = values.json ? undefined : new Progress({ label: 'eval', total: options.n, unit: 'img' });
      try {
        result = await evaluateModel(model, { ...options, classes, switches, ...memory, realSets: values['real-sets'], features: values.features, data: values.data, onBatch: (done) => progress?.update(done) });
      } finally {
        progress?.finish();
      }
    }
    if (values.json) {
      const guidance = { guidance: options.guidance, ...(options.guidanceInterval && { guidance_interval: [options.guidanceInterval.low, options.guidanceInterval.high] }) };
      console.log(JSON.stringify({ model: model.name, ...(values.data !== undefined && { data: values.data }), sampler: describeSampler(values.sampler), steps: options.steps, ...guidance, accel: describeAccel(options.accel), ...(switches.length > 0 && { switch: switches.map(describeSwitch).join(',') }), ...result }));
      return;
    }
    for (const line of headlines(result as unknown as Record<string, number>)) console.log(line);
    const rows = Object.entries(result).flatMap(([key, value]): [string, unknown][] =>
      typeof value === 'object' && value !== null ? Object.entries(value).map(([name, inner]) => [`${key}.${name}`, inner]) : [[key, value]]);
    const width = Math.max(...rows.map(([key]) => key.length)) + 2;
    for (const [key, value] of rows) console.log(`${key.padEnd(width)}${typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(5) : String(value)}`);
  },
});

/** "FD 0.61 ± 0.08 (floor 0.08 ± 0.05)" for each distance of the evaluation. */
function headlines(result: Record<string, number>): string[] {
  const figure = (value: number, std: number): string => `${value.toPrecision(3)} ± ${std.toPrecision(2)}`;
  return ['fd', 'kid', 'swd', 'mmd'].filter((key) => key in result).map((key) =>
    `${key.toUpperCase()} ${figure(result[key]!, result[`${key}_std`]!)} (floor ${figure(result[`${key}_floor`]!, result[`${key}_floor_std`]!)})`);
}
