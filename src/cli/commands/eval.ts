// `hasten eval`: sample quality of a model with a sampler, each distance beside its real-vs-real floor.

import { resolve } from 'node:path';
import { defineCommand } from '../command.js';
import { int, json, text } from '../options.js';
import { generateOptions, openSwitches, parseClasses, samplingOptions, switchOption } from '../sampling.js';
import { describeAccel } from '../../accel/config.js';
import { describeSampler } from '../../diffusion/samplers/index.js';
import { type ModelEvaluation, evaluateModel } from '../../pipeline/evaluate-model.js';
import { describeSwitch } from '../../pipeline/switching.js';
import type { EvalSettings } from '../../scale/jobs/eval.js';
import { isSharded, portableModel, runShardedCommand, sampleShardSize, samplingSettings, scaleOptions, unshardable } from '../scale.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { Progress } from '../progress.js';

export const evalCommand = defineCommand({
  path: ['eval'],
  summary: 'measure sample quality (FD, KID, class accuracy; or SWD, MMD for points) against real data',
  options: {
    ...samplingOptions,
    switch: switchOption,
    n: int({ placeholder: 'N', min: 2, default: 2000, description: 'samples to generate and compare' }),
    features: text({ placeholder: 'DIR', description: 'feature network for FD/KID (default: the shipped one for the dataset)' }),
    ...scaleOptions,
    'shard-size': sampleShardSize,
    json: json(),
  },
  details: 'With --workers N or --queue URL the samples are drawn in shards (docs/scale.md); the figures equal a one-process run bit for bit.\nImage models report fd, fd_floor, kid, kid_floor, accuracy and class_accuracy (conditional models), nfe, wall_s; point models report swd, swd_floor, mmd, mmd_floor, nfe, wall_s.',
  async run(values) {
    const options = generateOptions(values);
    const trained = await loadTrainedModel(values.model);
    const classes = parseClasses(trained, values.class);
    const switches = await openSwitches(values.switch);
    let result;
    if (isSharded(values)) {
      unshardable(switches.length > 0 && '--switch');
      const settings: EvalSettings = { ...samplingSettings(portableModel(values.model, trained), options, classes, values['shard-size']), ...(values.features !== undefined && { features: resolve(values.features) }) };
      result = (await runShardedCommand<ModelEvaluation>('eval', settings, values, 'eval')).result;
    } else {
      const progress = values.json ? undefined : new Progress({ label: 'eval', total: options.n, unit: 'img' });
      try {
        result = await evaluateModel(trained, { ...options, classes, switches, features: values.features, onBatch: (done) => progress?.update(done) });
      } finally {
        progress?.finish();
      }
    }
    if (values.json) {
      const guidance = { guidance: options.guidance, ...(options.guidanceInterval && { guidance_interval: [options.guidanceInterval.low, options.guidanceInterval.high] }) };
      console.log(JSON.stringify({ model: trained.name, sampler: describeSampler(values.sampler), steps: options.steps, ...guidance, accel: describeAccel(options.accel), ...(switches.length > 0 && { switch: switches.map(describeSwitch).join(',') }), ...result }));
      return;
    }
    const rows = Object.entries(result).flatMap(([key, value]): [string, unknown][] =>
      typeof value === 'object' && value !== null ? Object.entries(value).map(([name, inner]) => [`${key}.${name}`, inner]) : [[key, value]]);
    const width = Math.max(...rows.map(([key]) => key.length)) + 2;
    for (const [key, value] of rows) console.log(`${key.padEnd(width)}${typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(5) : String(value)}`);
  },
});
