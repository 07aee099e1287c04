// `hasten eval`: sample quality of a model with a sampler, each distance beside its real-vs-real floor.

import { type Command, parseNumber } from '../command.js';
import { describeAccel } from '../../accel/config.js';
import { EVALUATION_DEFAULTS } from '../../eval/evaluate.js';
import { evaluateModel } from '../../pipeline/evaluate-model.js';
import { Progress } from '../progress.js';
import { asUsageError, openModel, parseClasses, parseSamplingFlags, sampleOptions } from './sample.js';

export const evalCommand: Command = {
  path: ['eval'],
  summary: 'measure sample quality (FD, KID, class accuracy; or SWD, MMD for points) against real data',
  options: {
    ...sampleOptions,
    n: { ...sampleOptions.n, description: 'samples to generate and compare', default: '2000' },
    features: { type: 'string', placeholder: 'DIR', description: 'feature network for FD/KID (default: the shipped one for the dataset)' },
    'real-sets': { type: 'string', placeholder: 'K', description: 'independent real sets (and pairs for the floor) behind each mean and ± spread', default: String(EVALUATION_DEFAULTS.realSets) },
    json: { type: 'boolean', description: 'print one JSON object with the figures' },
  },
  details: [
    'Image models report fd, fd_floor, kid, kid_floor, accuracy and class_accuracy (conditional models), nfe, wall_s; point models report swd, swd_floor, mmd, mmd_floor, nfe, wall_s.',
    'Each distance is the mean over K independent real sets and each floor over K pairs of them; X_std is the standard deviation over those K (docs/eval.md).',
  ].join('\n'),
  async run(values) {
    const flags = parseSamplingFlags(values, 2);
    const trained = await openModel(values.model);
    const classes = parseClasses(trained, values.class);
    const progress = values.json ? undefined : new Progress({ label: 'eval', total: flags.n, unit: 'img' });
    let result;
    try {
      const realSets = parseNumber('real-sets', values['real-sets'], { integer: true, min: 2 })!;
      result = await evaluateModel(trained, { ...flags, classes, realSets, features: values.features as string | undefined, onBatch: (done) => progress?.update(done) });
    } catch (error) {
      throw asUsageError(error);
    } finally {
      progress?.finish();
    }
    if (values.json) {
      const guidance = { guidance: flags.guidance, ...(flags.guidanceInterval && { guidance_interval: [flags.guidanceInterval.low, flags.guidanceInterval.high] }) };
      console.log(JSON.stringify({ model: trained.name, sampler: flags.sampler, steps: flags.steps, ...guidance, accel: describeAccel(flags.accel), ...result }));
      return;
    }
    for (const line of headlines(result as unknown as Record<string, number>)) console.log(line);
    const rows = Object.entries(result).flatMap(([key, value]): [string, unknown][] =>
      typeof value === 'object' && value !== null ? Object.entries(value).map(([name, inner]) => [`${key}.${name}`, inner]) : [[key, value]]);
    const width = Math.max(...rows.map(([key]) => key.length)) + 2;
    for (const [key, value] of rows) console.log(`${key.padEnd(width)}${typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(5) : String(value)}`);
  },
};

/** "FD 0.61 ± 0.08 (floor 0.08 ± 0.05)" for each distance of the evaluation. */
function headlines(result: Record<string, number>): string[] {
  const figure = (value: number, std: number): string => `${value.toPrecision(3)} ± ${std.toPrecision(2)}`;
  return ['fd', 'kid', 'swd', 'mmd'].filter((key) => key in result).map((key) =>
    `${key.toUpperCase()} ${figure(result[key]!, result[`${key}_std`]!)} (floor ${figure(result[`${key}_floor`]!, result[`${key}_floor_std`]!)})`);
}
