// `hasten reflow pairs | train | diagnose`: rectified flow++ (a 2-rectified flow trained on a
// teacher's ODE pairs). pairs writes resumable shards of (noise, sample, label); train fits a student
// started from the teacher; diagnose measures a model's straightness, inversion round trip and, with
// pairs, the reflow loss by time.

import { writeFileSync } from 'node:fs';
import { type Command, UsageError, parseNumber } from '../command.js';
import { lineChart } from '../../plot/svg.js';
import { checkpointDir, type TrainConfig } from '../../train/trainer.js';
import { ROUND_TRIP_DEFAULTS, modelRoundTrip } from '../../reflow/invert.js';
import { LOSS_BY_TIME_DEFAULTS, lossByTime } from '../../reflow/loss-by-time.js';
import { REFLOW_LOSS_DEFAULTS, type ReflowLoss, type ReflowLossName, perceptualWeightings, reflowLossNames, type PerceptualWeighting } from '../../reflow/loss.js';
import { PAIR_DEFAULTS, type PairSet, generatePairs, openPairs } from '../../reflow/pairs.js';
import { STRAIGHTNESS_DEFAULTS, modelStraightness } from '../../reflow/straightness.js';
import { TIME_DISTRIBUTION_DEFAULTS, timeDistribution, timeDistributionNames } from '../../reflow/timesteps.js';
import { REFLOW_TRAIN_DEFAULTS, type ReflowTrainConfig, reflowTrainConfig, trainReflow } from '../../reflow/train.js';
import { type OdeMethod, modelVelocity, odeMethods } from '../../reflow/velocity.js';
import { Progress } from '../progress.js';
import { checkSampler, openModel } from './sample.js';
import { resumedConfig, trainCommand } from './train.js';

function usage<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function oneOf<T extends string>(flag: string, raw: string | boolean | undefined, allowed: readonly T[]): T {
  if (!allowed.includes(raw as T)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got '${String(raw)}'`);
  return raw as T;
}

/** Opens a pair directory; what is wrong with it is the user's to fix. */
function openUsage(dir: string): Promise<PairSet> {
  return openPairs(dir).catch((error: Error) => {
    throw new UsageError(error.message);
  });
}

/** Ctrl-C asks `body` to stop at its next safe point; a second Ctrl-C quits at once. */
async function stoppable<T>(what: string, body: (shouldStop: () => boolean) => Promise<T>): Promise<T> {
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${what} (Ctrl-C again to quit now)\n`);
  };
  process.on('SIGINT', onSignal);
  try {
    return await body(() => interrupted);
  } finally {
    process.off('SIGINT', onSignal);
  }
}

const reflowPairs: Command = {
  path: ['reflow', 'pairs'],
  summary: "write a teacher's ODE pairs (noise, sample, label) as resumable safetensors shards",
  options: {
    teacher: { type: 'string', placeholder: 'NAME|PATH', description: 'the teacher: a shipped model or a training output directory' },
    sampler: { type: 'string', placeholder: 'NAME', description: "the teacher's ODE sampler", default: PAIR_DEFAULTS.sampler },
    steps: { type: 'string', placeholder: 'N', description: 'its steps', default: String(PAIR_DEFAULTS.steps) },
    grid: { type: 'string', placeholder: 'SPEC', description: "its time grid (default: the teacher objective's)" },
    guidance: { type: 'string', placeholder: 'W', description: 'classifier-free guidance weight of the teacher', default: String(PAIR_DEFAULTS.guidance) },
    n: { type: 'string', placeholder: 'COUNT', description: 'pairs to generate' },
    seed: { type: 'string', placeholder: 'S', description: "pair k's noise and label depend only on (seed, k)", default: String(PAIR_DEFAULTS.seed) },
    'shard-size': { type: 'string', placeholder: 'N', description: 'pairs per shard: the most an interruption can lose', default: String(PAIR_DEFAULTS.shardSize) },
    batch: { type: 'string', placeholder: 'B', description: 'samples per network call', default: String(PAIR_DEFAULTS.batch) },
    out: { type: 'string', placeholder: 'DIR', description: 'pair directory' },
    resume: { type: 'boolean', description: 'continue the pairs in DIR (the same settings; --n may grow)' },
    overwrite: { type: 'boolean', description: 'replace the pairs in DIR' },
    json: { type: 'boolean', description: 'print { out, pairs, shards, generated, reused, nfe, stopped, seconds } as JSON' },
  },
  details: 'The same command with --resume after an interruption verifies the finished shards and continues from the first missing one.\nExample: hasten reflow pairs --teacher toy2d --sampler heun --steps 18 --n 20000 --out runs/toy2d-pairs',
  async run(values) {
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('--out DIR is required');
    if (typeof values.teacher !== 'string') throw new UsageError('--teacher NAME|PATH is required');
    if (values.n === undefined) throw new UsageError('--n COUNT is required');
    const settings = {
      teacher: (await openModel(values.teacher)).location,
      sampler: checkSampler(values.sampler),
      steps: parseNumber('steps', values.steps, { integer: true, min: 1 })!,
      ...(typeof values.grid === 'string' && { grid: values.grid }),
      guidance: parseNumber('guidance', values.guidance)!,
      count: parseNumber('n', values.n, { integer: true, min: 1 })!,
      seed: parseNumber('seed', values.seed, { integer: true, min: 0 })!,
      shardSize: parseNumber('shard-size', values['shard-size'], { integer: true, min: 1 })!,
      batch: parseNumber('batch', values.batch, { integer: true, min: 1 })!,
    };
    const started = performance.now();
    const progress = values.json ? undefined : new Progress({ label: 'pairs', total: Math.ceil(settings.count / settings.shardSize), unit: 'shard' });
    const result = await stoppable('reflow pairs: stopping after this shard', async (shouldStop) => {
      try {
        return await generatePairs(settings, out, { shouldStop, onShard: (done) => progress?.update(done), warn: (m) => process.stderr.write(`warning: ${m}\n`) }, { resume: Boolean(values.resume), overwrite: Boolean(values.overwrite) });
      } catch (error) {
        if (/holds pairs generated with another|unknown grid|grid '/.test((error as Error).message)) throw new UsageError((error as Error).message);
        throw error;
      } finally {
        progress?.finish();
      }
    });
    const { manifest, generated, reused, stopped } = result;
    const pairs = manifest.shards.reduce((total, s) => total + s.count, 0);
    const summary = { out, pairs, shards: manifest.shards.length, generated, reused, nfe: manifest.nfe, stopped, seconds: (performance.now() - started) / 1000 };
    if (values.json) console.log(JSON.stringify(summary));
    else console.log(`${stopped ? 'stopped' : 'finished'}: ${pairs} of ${settings.count} pairs in ${out} (${generated} shards generated, ${reused} found finished; ${manifest.nfe} teacher evaluations per pair)`);
  },
};

const training = trainCommand.options;

const reflowTrain: Command = {
  path: ['reflow', 'train'],
  summary: "train a 2-rectified flow (rectified flow++) on a teacher's pairs, started from the teacher",
  options: {
    pairs: { type: 'string', placeholder: 'DIR', description: "pairs written by 'hasten reflow pairs'" },
    init: { type: 'string', placeholder: 'NAME|PATH', description: 'the model to start from (default: the teacher of the pairs)' },
    time: { type: 'string', placeholder: 'KIND', description: `timestep distribution: ${timeDistributionNames.join(', ')}`, default: 'u-shaped' },
    'u-shape-a': { type: 'string', placeholder: 'A', description: 'u-shaped: a in cosh(a(t - 1/2))', default: String(TIME_DISTRIBUTION_DEFAULTS.uShapeA) },
    'logit-mean': { type: 'string', placeholder: 'M', description: 'logit-normal: mean of logit(t)', default: String(TIME_DISTRIBUTION_DEFAULTS.logitMean) },
    'logit-std': { type: 'string', placeholder: 'S', description: 'logit-normal: standard deviation of logit(t)', default: String(TIME_DISTRIBUTION_DEFAULTS.logitStd) },
    'time-epsilon': { type: 'string', placeholder: 'E', description: 'times are mapped onto [E, 1 - E]; the student samples from 1 - E', default: String(TIME_DISTRIBUTION_DEFAULTS.epsilon) },
    loss: { type: 'string', placeholder: 'KIND', description: `loss on the velocity: ${reflowLossNames.join(', ')}`, default: 'perceptual-huber' },
    'huber-c': { type: 'string', placeholder: 'C', description: 'pseudo-Huber threshold per coordinate (iCT: 0.00054·√d over d coordinates)', default: String(REFLOW_LOSS_DEFAULTS.huberC) },
    'perceptual-weight': { type: 'string', placeholder: 'W', description: 'weight of the perceptual term', default: String(REFLOW_LOSS_DEFAULTS.perceptualWeight) },
    'perceptual-weighting': { type: 'string', placeholder: 'KIND', description: `time weighting of the perceptual term: ${perceptualWeightings.join(', ')}`, default: REFLOW_LOSS_DEFAULTS.perceptualWeighting },
    features: { type: 'string', placeholder: 'DIR', description: 'feature network of the perceptual term (default: the one shipped for the dataset)' },
    'real-fraction': { type: 'string', placeholder: 'F', description: 'fraction of each batch drawn from real data with fresh noise', default: '0' },
    steps: training.steps!,
    batch: training.batch!,
    lr: { ...training.lr!, default: String(REFLOW_TRAIN_DEFAULTS.lr) },
    warmup: { ...training.warmup!, default: String(REFLOW_TRAIN_DEFAULTS.warmup) },
    'lr-decay': training['lr-decay']!,
    'ema-half-life': training['ema-half-life']!,
    'label-dropout': { type: 'string', placeholder: 'P', description: 'probability of training a pair with the null label (for guidance)', default: String(REFLOW_TRAIN_DEFAULTS.labelDropout) },
    'checkpoint-every': training['checkpoint-every']!,
    seed: { ...training.seed!, description: 'seed of the pair order, times and label dropout' },
    out: training.out!,
    resume: training.resume!,
    overwrite: training.overwrite!,
    json: training.json!,
  },
  details: [
    'The student keeps the teacher network and parameterisation and samples rectified flow: hasten sample --model DIR --sampler rf-euler --steps 1.',
    'Points have no feature network: there the perceptual term compares x0 predictions directly.',
    'Example: hasten reflow train --pairs runs/toy2d-pairs --init toy2d --steps 2000 --batch 256 --out runs/toy2d-rf',
  ].join('\n'),
  async run(values) {
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('--out DIR is required');
    let config: ReflowTrainConfig;
    if (values.resume) {
      config = await resumedConfig<ReflowTrainConfig>(out, values.steps);
      if (!config.reflow) throw new UsageError(`${out} is not a reflow run: continue it with 'hasten train --resume'`);
    } else {
      if (typeof values.pairs !== 'string') throw new UsageError('--pairs DIR is required');
      const pairs = await openUsage(values.pairs);
      const teacher = await openModel(values.init ?? pairs.manifest.generation.teacher);
      const loss: ReflowLoss = {
        kind: oneOf<ReflowLossName>('loss', values.loss, reflowLossNames),
        huberC: parseNumber('huber-c', values['huber-c'], { min: 0 })!,
        perceptualWeight: parseNumber('perceptual-weight', values['perceptual-weight'], { min: 0 })!,
        perceptualWeighting: oneOf<PerceptualWeighting>('perceptual-weighting', values['perceptual-weighting'], perceptualWeightings),
      };
      const time = usage(() => timeDistribution(String(values.time), {
        uShapeA: parseNumber('u-shape-a', values['u-shape-a'])!,
        logitMean: parseNumber('logit-mean', values['logit-mean'])!,
        logitStd: parseNumber('logit-std', values['logit-std'])!,
        epsilon: parseNumber('time-epsilon', values['time-epsilon'])!,
      }));
      const lrDecay = oneOf<TrainConfig['lrDecay']>('lr-decay', values['lr-decay'], ['constant', 'cosine', 'linear']);
      config = usage(() => reflowTrainConfig(teacher, pairs, {
        pairs: values.pairs as string,
        time,
        loss,
        ...(typeof values.features === 'string' && { features: values.features }),
        realFraction: parseNumber('real-fraction', values['real-fraction'], { min: 0 })!,
      }, {
        steps: parseNumber('steps', values.steps, { integer: true, min: 1 })!,
        batch: parseNumber('batch', values.batch, { integer: true, min: 1 })!,
        lr: parseNumber('lr', values.lr, { min: 0 })!,
        warmup: parseNumber('warmup', values.warmup, { integer: true, min: 0 })!,
        lrDecay,
        emaHalfLifeImages: parseNumber('ema-half-life', values['ema-half-life'], { min: 0 })!,
        labelDropout: parseNumber('label-dropout', values['label-dropout'], { min: 0 })!,
        checkpointEvery: parseNumber('checkpoint-every', values['checkpoint-every'], { integer: true, min: 1 })!,
        seed: parseNumber('seed', values.seed, { integer: true, min: 0 })!,
      }));
    }
    const result = await stoppable('reflow train: stopping after this step and saving a checkpoint', async (shouldStop) => {
      try {
        return await trainReflow(config, out, { resume: Boolean(values.resume), overwrite: Boolean(values.overwrite), callbacks: { shouldStop } });
      } catch (error) {
        if (/no feature network|dataset of points|reads .* images/.test((error as Error).message)) throw new UsageError((error as Error).message);
        throw error;
      }
    });
    const summary = { out, step: result.step, steps: config.steps, stopped: result.stopped, loss: result.lastLoss, images_per_second: result.imagesPerSecond };
    if (values.json) console.log(JSON.stringify(summary));
    else console.log(`${result.stopped ? 'stopped' : 'finished'} at step ${result.step}/${config.steps}; checkpoint in ${checkpointDir(out)} (${result.imagesPerSecond.toFixed(1)} samples/s)`);
  },
};

const reflowDiagnose: Command = {
  path: ['reflow', 'diagnose'],
  summary: "a model's straightness, inversion round trip and (with --pairs) reflow loss by time",
  options: {
    model: { type: 'string', placeholder: 'NAME|PATH', description: 'any model: a teacher or a reflow student' },
    pairs: { type: 'string', placeholder: 'DIR', description: 'pairs to measure the loss by time on' },
    steps: { type: 'string', placeholder: 'N', description: 'Euler steps of the straightness paths', default: String(STRAIGHTNESS_DEFAULTS.steps) },
    n: { type: 'string', placeholder: 'N', description: 'samples for straightness', default: String(STRAIGHTNESS_DEFAULTS.n) },
    'round-trip-steps': { type: 'string', placeholder: 'N', description: 'steps of sampling and of inversion in the round trip', default: String(ROUND_TRIP_DEFAULTS.steps) },
    'round-trip-n': { type: 'string', placeholder: 'N', description: 'samples for the round trip', default: String(ROUND_TRIP_DEFAULTS.n) },
    method: { type: 'string', placeholder: 'KIND', description: `ODE method of the round trip: ${odeMethods.join(', ')}`, default: ROUND_TRIP_DEFAULTS.method },
    bins: { type: 'string', placeholder: 'N', description: 'times of the loss by time', default: String(LOSS_BY_TIME_DEFAULTS.bins) },
    'loss-pairs': { type: 'string', placeholder: 'N', description: 'pairs per time of the loss by time', default: String(LOSS_BY_TIME_DEFAULTS.count) },
    seed: { type: 'string', placeholder: 'S', description: 'noise seed', default: '0' },
    batch: { type: 'string', placeholder: 'B', description: 'samples per network call', default: String(STRAIGHTNESS_DEFAULTS.batch) },
    plot: { type: 'string', placeholder: 'FILE.svg', description: 'write the loss by time as an SVG chart (needs --pairs)' },
    json: { type: 'boolean', description: 'print { straightness, round_trip_rms, loss_vs_t } as JSON' },
  },
  details: 'straightness: mean over Euler steps of the squared deviation (per coordinate) of the velocity from the straight line x_1 - x_0.\nround_trip_rms: RMS difference between noise and the inversion of the sample it gives.',
  async run(values) {
    const trained = await openModel(values.model);
    const batch = parseNumber('batch', values.batch, { integer: true, min: 1 })!;
    const seed = parseNumber('seed', values.seed, { integer: true, min: 0 })!;
    const method = oneOf<OdeMethod>('method', values.method, odeMethods);
    const plot = values.plot as string | undefined;
    if (plot && typeof values.pairs !== 'string') throw new UsageError('--plot draws the loss by time: it needs --pairs DIR');
    const pairs = typeof values.pairs === 'string' ? await openUsage(values.pairs) : undefined;
    const velocity = modelVelocity(trained);
    try {
      const straightness = await modelStraightness(trained, velocity, { steps: parseNumber('steps', values.steps, { integer: true, min: 1 })!, n: parseNumber('n', values.n, { integer: true, min: 1 })!, seed, batch });
      const roundTrip = await modelRoundTrip(trained, velocity, { steps: parseNumber('round-trip-steps', values['round-trip-steps'], { integer: true, min: 1 })!, n: parseNumber('round-trip-n', values['round-trip-n'], { integer: true, min: 1 })!, method, seed, batch });
      const curve = pairs && await lossByTime(trained, velocity, pairs, { bins: parseNumber('bins', values.bins, { integer: true, min: 1 })!, count: parseNumber('loss-pairs', values['loss-pairs'], { integer: true, min: 1 })!, batch });
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
};

export const reflowCommands: Command[] = [reflowPairs, reflowTrain, reflowDiagnose];
