// `hasten eval`: sample quality of a model with a sampler, each distance beside its real-vs-real floor.

import type { Command } from '../command.js';
import { describeAccel } from '../../accel/config.js';
import { evaluateModel } from '../../pipeline/evaluate-model.js';
import { Progress } from '../progress.js';
import { asUsageError, openModel, parseClasses, parseMemoryFlags, parseSamplingFlags, sampleOptions } from './sample.js';

export const evalCommand: Command = {
  path: ['eval'],
  summary: 'measure sample quality (FD, KID, class accuracy; or SWD, MMD for points) against real data',
  options: {
    ...sampleOptions,
    n: { ...sampleOptions.n, description: 'samples to generate and compare', default: '2000' },
    features: { type: 'string', placeholder: 'DIR', description: 'feature network for FD/KID (default: the shipped one for the dataset)' },
    json: { type: 'boolean', description: 'print one JSON object with the figures' },
  },
  details: 'Image models report fd, fd_floor, kid, kid_floor, accuracy and class_accuracy (conditional models), nfe, wall_s; point models report swd, swd_floor, mmd, mmd_floor, nfe, wall_s.',
  async run(values) {
    const flags = parseSamplingFlags(values, 2);
    const trained = await openModel(values.model);
    const classes = parseClasses(trained, values.class);
    const memory = await parseMemoryFlags(trained, values, flags.n, flags.seed);
    const progress = values.json ? undefined : new Progress({ label: 'eval', total: flags.n, unit: 'img' });
    let result;
    try {
      result = await evaluateModel(trained, { ...flags, classes, ...memory, features: values.features as string | undefined, onBatch: (done) => progress?.update(done) });
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
    const rows = Object.entries(result).flatMap(([key, value]): [string, unknown][] =>
      typeof value === 'object' && value !== null ? Object.entries(value).map(([name, inner]) => [`${key}.${name}`, inner]) : [[key, value]]);
    const width = Math.max(...rows.map(([key]) => key.length)) + 2;
    for (const [key, value] of rows) console.log(`${key.padEnd(width)}${typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(5) : String(value)}`);
  },
};
