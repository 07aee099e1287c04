// `hasten reflow pairs | train | diagnose`: rectified flow++ (a 2-rectified flow trained on a
// teacher's ODE pairs). pairs writes resumable shards of (noise, sample, label); train fits a student
// started from the teacher; diagnose measures a model's straightness, inversion round trip and, with
// pairs, the reflow loss by time.

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { plural } from '../plural.js';
import { type Command, defineCommand } from '../command.js';
import { choice, flag, int, json, num, text, UsageError } from '../options.js';
import { outputFile } from '../output-file.js';
import { modelName, samplerName } from '../sampling.js';
import { stoppable } from '../stoppable.js';
import { lineChart } from '../../plot/svg.js';
import { TRAIN_DEFAULTS, checkpointDir } from '../../train/trainer.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { ROUND_TRIP_DEFAULTS, modelRoundTrip } from '../../reflow/invert.js';
import { LOSS_BY_TIME_DEFAULTS, lossByTime } from '../../reflow/loss-by-time.js';
import { REFLOW_LOSS_DEFAULTS, perceptualWeightings, reflowLossNames } from '../../reflow/loss.js';
import { PAIR_DEFAULTS, type PairManifest, generatePairs, openPairDirectory, openPairs, preparePairs } from '../../reflow/pairs.js';
import type { PairJobSettings } from '../../scale/jobs/pairs.js';
import { isSharded, runShardedCommand, scaleOptions } from '../scale.js';
import { STRAIGHTNESS_DEFAULTS, modelStraightness } from '../../reflow/straightness.js';
import { TIME_DISTRIBUTION_DEFAULTS, timeDistribution, timeDistributionNames } from '../../reflow/timesteps.js';
import { REFLOW_TRAIN_DEFAULTS, type ReflowTrainConfig, reflowTrainConfig, trainReflow } from '../../reflow/train.js';
import { modelVelocity, odeMethods } from '../../reflow/velocity.js';
import { Progress, trainingProgress } from '../progress.js';
import { SCHEDULE_SETTINGS, resumedConfig, scheduleOptions, scheduleSettings } from '../training.js';

const reflowPairs = defineCommand({
  path: ['reflow', 'pairs'],
  summary: "write a teacher's ODE pairs (noise, sample, label) as resumable safetensors shards",
  options: {
    teacher: modelName('teacher', { required: true, description: 'the teacher' }),
    sampler: samplerName("the teacher's ODE sampler", PAIR_DEFAULTS.sampler),
    steps: int({ placeholder: 'N', min: 1, default: PAIR_DEFAULTS.steps, description: 'its steps' }),
    grid: text({ placeholder: 'SPEC', description: "its time grid (default: the teacher objective's)" }),
    guidance: num({ placeholder: 'W', default: PAIR_DEFAULTS.guidance, description: 'classifier-free guidance weight of the teacher' }),
    n: int({ placeholder: 'COUNT', min: 1, required: true, description: 'pairs to generate' }),
    seed: int({ placeholder: 'S', min: 0, default: PAIR_DEFAULTS.seed, description: "pair k's noise and label depend only on (seed, k)" }),
    'shard-size': int({ placeholder: 'N', min: 1, default: PAIR_DEFAULTS.shardSize, description: 'pairs per shard: the most an interruption can lose' }),
    batch: int({ placeholder: 'B', min: 1, default: PAIR_DEFAULTS.batch, description: 'samples per network call' }),
    out: text({ placeholder: 'DIR', required: true, description: 'pair directory' }),
    resume: flag({ description: 'continue the pairs in DIR (the same settings; --n may grow)' }),
    overwrite: flag({ description: 'replace the pairs in DIR' }),
    ...scaleOptions,
    json: json('print { out, pairs, shards, generated, reused, nfe, stopped, seconds } as JSON'),
  },
  details: 'The same command with --resume after an interruption verifies the finished shards and continues from the first missing one.\nExample: hasten reflow pairs --teacher toy2d --sampler heun --steps 18 --n 20000 --out runs/toy2d-pairs',
  async run(values) {
    const { out } = values;
    const settings = {
      teacher: resolve((await loadTrainedModel(values.teacher)).location), // as workers in other folders find it
      sampler: values.sampler,
      steps: values.steps,
      ...(values.grid !== undefined && { grid: values.grid }),
      guidance: values.guidance,
      count: values.n,
      seed: values.seed,
      shardSize: values['shard-size'],
      batch: values.batch,
    };
    const started = performance.now();
    if (isSharded(values)) {
      // The directory is claimed before any work; the shards' own state is their artefacts in --results.
      openPairDirectory(out, (await preparePairs(settings)).generation, { resume: values.resume, overwrite: values.overwrite });
      const report = await runShardedCommand<PairManifest>('pairs', { ...settings, out: resolve(out) } satisfies PairJobSettings, values, 'pairs');
      const summary = { out, pairs: report.result.count, shards: report.shards, generated: report.shards - report.reused, reused: report.reused, nfe: report.result.nfe, stopped: false, seconds: report.wallS };
      if (values.json) console.log(JSON.stringify(summary));
      else console.log(`finished: ${plural(summary.pairs, 'pair')} in ${out} (${plural(summary.generated, 'shard')} computed, ${summary.reused} found in ${values.results}; ${plural(summary.nfe, 'teacher evaluation')} per pair)`);
      return;
    }
    const progress = values.json ? undefined : new Progress({ label: 'pairs', total: Math.ceil(settings.count / settings.shardSize), unit: 'shard' });
    const result = await stoppable('reflow pairs: stopping after this shard', async (shouldStop) => {
      try {
        return await generatePairs(settings, out, { shouldStop, onShard: (done) => progress?.update(done), warn: (m) => process.stderr.write(`warning: ${m}\n`) }, { resume: values.resume, overwrite: values.overwrite });
      } finally {
        progress?.finish();
      }
    });
    const { manifest, generated, reused, stopped } = result;
    const pairs = manifest.shards.reduce((total, s) => total + s.count, 0);
    const summary = { out, pairs, shards: manifest.shards.length, generated, reused, nfe: manifest.nfe, stopped, seconds: (performance.now() - started) / 1000 };
    if (values.json) console.log(JSON.stringify(summary));
    else console.log(`${stopped ? 'stopped' : 'finished'}: ${pairs} of ${plural(settings.count, 'pair')} in ${out} (${plural(generated, 'shard')} generated, ${reused} found finished; ${plural(manifest.nfe, 'teacher evaluation')} per pair)`);
  },
});

const reflowTrain = defineCommand({
  path: ['reflow', 'train'],
  summary: "train a 2-rectified flow (rectified flow++) on a teacher's pairs, started from the teacher",
  options: {
    pairs: text({ placeholder: 'DIR', description: "pairs written by 'hasten reflow pairs' (required unless --resume)" }),
    init: modelName('init', { description: 'the model to start from (default: the teacher of the pairs)' }),
    time: text({ placeholder: 'KIND', default: 'u-shaped', description: `timestep distribution: ${timeDistributionNames.join(', ')}` }),
    'u-shape-a': num({ placeholder: 'A', default: TIME_DISTRIBUTION_DEFAULTS.uShapeA, description: 'u-shaped: a in cosh(a(t - 1/2))' }),
    'logit-mean': num({ placeholder: 'M', default: TIME_DISTRIBUTION_DEFAULTS.logitMean, description: 'logit-normal: mean of logit(t)' }),
    'logit-std': num({ placeholder: 'S', default: TIME_DISTRIBUTION_DEFAULTS.logitStd, description: 'logit-normal: standard deviation of logit(t)' }),
    'time-epsilon': num({ placeholder: 'E', default: TIME_DISTRIBUTION_DEFAULTS.epsilon, description: 'times are mapped onto [E, 1 - E]; the student samples from 1 - E' }),
    loss: choice(reflowLossNames, { placeholder: 'KIND', default: 'perceptual-huber', description: 'loss on the velocity' }),
    'huber-c': num({ placeholder: 'C', min: 0, default: REFLOW_LOSS_DEFAULTS.huberC, description: 'pseudo-Huber threshold per coordinate (iCT: 0.00054·√d over d coordinates)' }),
    'perceptual-weight': num({ placeholder: 'W', min: 0, default: REFLOW_LOSS_DEFAULTS.perceptualWeight, description: 'weight of the perceptual term' }),
    'perceptual-weighting': choice(perceptualWeightings, { placeholder: 'KIND', default: REFLOW_LOSS_DEFAULTS.perceptualWeighting, description: 'time weighting of the perceptual term' }),
    features: text({ placeholder: 'DIR', description: 'feature network of the perceptual term (default: the one shipped for the dataset)' }),
    'real-fraction': num({ placeholder: 'F', min: 0, default: 0, description: 'fraction of each batch drawn from real data with fresh noise' }),
    ...scheduleOptions({ ...TRAIN_DEFAULTS, ...REFLOW_TRAIN_DEFAULTS }),
    'label-dropout': num({ placeholder: 'P', min: 0, default: REFLOW_TRAIN_DEFAULTS.labelDropout, description: 'probability of training a pair with the null label (for guidance)' }),
    seed: int({ placeholder: 'S', min: 0, default: 0, description: 'seed of the pair order, times and label dropout' }),
  },
  details: [
    'The student keeps the teacher network and parameterisation and samples rectified flow: hasten sample --model DIR --sampler rf-euler --steps 1.',
    'Points have no feature network: there the perceptual term compares x0 predictions directly.',
    'Example: hasten reflow train --pairs runs/toy2d-pairs --init toy2d --steps 2000 --batch 256 --out runs/toy2d-rf',
  ].join('\n'),
  async run(values, _positionals, given) {
    const { out } = values;
    let config: ReflowTrainConfig;
    if (values.resume) {
      config = await resumedConfig<ReflowTrainConfig>(out, values, given, { ...SCHEDULE_SETTINGS, 'label-dropout': 'labelDropout', seed: 'seed' });
      if (!config.reflow) throw new UsageError(`${out} is not a reflow run: continue it with 'hasten train --resume'`);
    } else {
      if (values.pairs === undefined) throw new UsageError('--pairs DIR is required');
      const pairs = await openPairs(values.pairs);
      const teacher = await loadTrainedModel(values.init ?? pairs.manifest.generation.teacher);
      const loss = { kind: values.loss, huberC: values['huber-c'], perceptualWeight: values['perceptual-weight'], perceptualWeighting: values['perceptual-weighting'] };
      const time = timeDistribution(values.time, { uShapeA: values['u-shape-a'], logitMean: values['logit-mean'], logitStd: values['logit-std'], epsilon: values['time-epsilon'] });
      config = reflowTrainConfig(teacher, pairs, {
        pairs: values.pairs,
        time,
        loss,
        ...(values.features !== undefined && { features: values.features }),
        realFraction: values['real-fraction'],
      }, { ...scheduleSettings(values), labelDropout: values['label-dropout'], seed: values.seed });
    }
    const progress = trainingProgress('train');
    const result = await stoppable('reflow train: stopping after this step and saving a checkpoint', (shouldStop) => trainReflow(config, out, { resume: values.resume, overwrite: values.overwrite, callbacks: { ...progress, shouldStop } }).finally(progress.finish));
    const summary = { out, step: result.step, steps: config.steps, stopped: result.stopped, loss: result.lastLoss, images_per_second: result.imagesPerSecond };
    if (values.json) console.log(JSON.stringify(summary));
    else console.log(`${result.stopped ? 'stopped' : 'finished'} at step ${result.step}/${config.steps}; checkpoint in ${checkpointDir(out)} (${result.imagesPerSecond.toFixed(1)} samples/s)`);
  },
});

const reflowDiagnose = defineCommand({
  path: ['reflow', 'diagnose'],
  summary: "a model's straightness, inversion round trip and (with --pairs) reflow loss by time",
  options: {
    model: modelName('model', { required: true, description: 'any model, a teacher or a reflow student' }),
    pairs: text({ placeholder: 'DIR', description: 'pairs to measure the loss by time on' }),
    steps: int({ placeholder: 'N', min: 1, default: STRAIGHTNESS_DEFAULTS.steps, description: 'Euler steps of the straightness paths' }),
    n: int({ placeholder: 'N', min: 1, default: STRAIGHTNESS_DEFAULTS.n, description: 'samples for straightness' }),
    'round-trip-steps': int({ placeholder: 'N', min: 1, default: ROUND_TRIP_DEFAULTS.steps, description: 'steps of sampling and of inversion in the round trip' }),
    'round-trip-n': int({ placeholder: 'N', min: 1, default: ROUND_TRIP_DEFAULTS.n, description: 'samples for the round trip' }),
    method: choice(odeMethods, { placeholder: 'KIND', default: ROUND_TRIP_DEFAULTS.method, description: 'ODE method of the round trip' }),
    bins: int({ placeholder: 'N', min: 1, default: LOSS_BY_TIME_DEFAULTS.bins, description: 'times of the loss by time' }),
    'loss-pairs': int({ placeholder: 'N', min: 1, default: LOSS_BY_TIME_DEFAULTS.count, description: 'pairs per time of the loss by time' }),
    seed: int({ placeholder: 'S', min: 0, default: 0, description: 'noise seed' }),
    batch: int({ placeholder: 'B', min: 1, default: STRAIGHTNESS_DEFAULTS.batch, description: 'samples per network call' }),
    plot: outputFile(['.svg'], { description: 'write the loss by time as an SVG chart (needs --pairs)' }),
    json: json('print { straightness, round_trip_rms, loss_vs_t } as JSON'),
  },
  details: 'straightness: mean over Euler steps of the squared deviation (per coordinate) of the velocity from the straight line x_1 - x_0.\nround_trip_rms: RMS difference between noise and the inversion of the sample it gives.',
  async run(values) {
    const { batch, seed, method, plot } = values;
    if (plot && values.pairs === undefined) throw new UsageError('--plot draws the loss by time: it needs --pairs DIR');
    const trained = await loadTrainedModel(values.model);
    const pairs = values.pairs !== undefined ? await openPairs(values.pairs) : undefined;
    const velocity = modelVelocity(trained);
    try {
      const straightness = await modelStraightness(trained, velocity, { steps: values.steps, n: values.n, seed, batch });
      const roundTrip = await modelRoundTrip(trained, velocity, { steps: values['round-trip-steps'], n: values['round-trip-n'], method, seed, batch });
      const curve = pairs && await lossByTime(trained, velocity, pairs, { bins: values.bins, count: values['loss-pairs'], batch });
      if (plot && curve) writeFileSync(plot, lineChart([{ name: trained.name, points: curve.map((p) => [p.t, p.loss] as const) }], { title: `Reflow loss by time (${trained.name})`, xLabel: 't', yLabel: 'E (v - (z - x0))² per coordinate', yScale: 'log' }));
      if (values.json) {
        console.log(JSON.stringify({ model: trained.name, straightness, round_trip_rms: roundTrip, ...(curve && { loss_vs_t: curve }) }));
        return;
      }
      console.log(`straightness    ${straightness.toPrecision(4)}`);
      console.log(`round trip RMS  ${roundTrip.toPrecision(4)} (${method})`);
      for (const point of curve ?? []) console.log(`loss at t = ${point.t.toFixed(3)}  ${point.loss.toPrecision(4)}`);
    } finally {
      await velocity.dispose();
    }
  },
});

export const reflowCommands: Command[] = [reflowPairs, reflowTrain, reflowDiagnose];
