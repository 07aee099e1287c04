// `hasten bench compress`: a compressed student against its teacher on the same samplers, steps and
// noise: the teacher, the student, multi-U-Net switching (the student above a noise level, the
// teacher below) at each switch point, and the A-SDM stack (the student with a training-free method
// of src/accel). Per row: wall-clock speedup over the teacher beside the FLOP ratio and the share of
// it the clock realises, FD and class accuracy. Capacity rows (compress-variants.ts) add the student
// with conditional convolutions and GRI against full attention; a row built without training has
// cost figures only.
//
// Wall times come from small timed runs, the same size for every row and interleaved across rows
// (teacher, student, switch, ..., teacher, ...), so that load from other processes falls on all of
// them alike; medians are quoted. Quality comes from one larger run per row.

import { type AccelConfig, describeAccel } from '../accel/config.js';
import { CompiledNetwork } from '../pipeline/sampling-network.js';
import type { ImageEvaluation } from '../eval/evaluate.js';
import type { FeatureNet } from '../eval/feature-net.js';
import { openFeatureNet, scoreSamples } from '../pipeline/evaluate-model.js';
import { generate } from '../pipeline/generate.js';
import type { TrainedModel } from '../pipeline/model-store.js';
import { type Switch, checkSwitchable, describeSwitch } from '../pipeline/switching.js';
import { InputError } from '../engine/input-error.js';
import { type SamplerChoice, describeSampler, parseSamplerSpec } from '../diffusion/samplers/index.js';
import { machine } from './accel.js';
import { type CompressVariant, type VariantMethod, describeVariant as describeCapacity } from './compress-variants.js';
import { cpuMsSince, median } from './timing.js';

export type CompressMethod = 'teacher' | 'student' | 'switching' | 'stack' | VariantMethod;

export interface SamplerSetting {
  sampler: SamplerChoice;
  steps: number;
}

export interface CompressBenchSettings {
  samplers: SamplerSetting[]; // every row runs on each
  switchAbove: number[]; // switching rows: the student wherever sigma > each of these, the teacher below
  stack: AccelConfig[]; // stack rows: the student with each training-free config
  stackSwitchBelow?: number; // also each stack config with the teacher below this noise level
  variants: CompressVariant[]; // capacity rows, each its own model, after the others
  n: number; // samples scored per row
  seed: number;
  batch: number;
  timingN: number; // samples in each timed run (one batch)
  repeats: number; // timed runs per row after one warm-up, interleaved across rows
}

export const COMPRESS_BENCH_DEFAULTS: Readonly<CompressBenchSettings> = {
  samplers: [{ sampler: parseSamplerSpec('heun'), steps: 18 }, { sampler: parseSamplerSpec('unipc-2'), steps: 10 }], // EDM's Heun at 35 NFE, and the best 10-NFE sampler on shapes (docs/results/shapes.md)
  switchAbove: [0.5, 2, 8],
  stack: [],
  variants: [],
  n: 500,
  seed: 0,
  batch: 64,
  timingN: 16,
  repeats: 5,
};

export interface CompressBenchRow {
  method: CompressMethod;
  model: string; // the model that runs where no switch applies
  config: string; // training-free config (describeAccel) and switches, or 'plain'
  sampler: string; // NAME[:KEY=VALUE,...]
  nfe: number;
  params: number; // parameters of every network the row runs
  gflops: number; // GFLOPs per image, counted on the graphs that ran
  wall_s: number; // median seconds of a timed run of timing_n samples
  speedup: number; // the teacher's wall_s / wall_s, same sampler
  cpu_s: number; // median CPU seconds of this process (all threads) in a timed run: the work, without a loaded machine's waits for a core
  cpu_speedup: number; // the teacher's cpu_s / cpu_s
  flop_speedup: number; // the teacher's gflops / gflops
  flop_speedup_realised: number; // speedup / flop_speedup
  fd: number | null; // null for a capacity row built without training
  accuracy: number | null; // null for unconditional models and untrained rows
}

export interface CompressBenchResult {
  teacher: string;
  student: string | null;
  n: number;
  timing_n: number;
  repeats: number;
  fd_floor: number;
  rows: CompressBenchRow[];
  machine: ReturnType<typeof machine>;
}

interface Variant {
  method: CompressMethod;
  main: TrainedModel;
  accel: AccelConfig;
  switches: Switch[];
  network: CompiledNetwork;
  capacity?: CompressVariant; // a capacity row's model and whether it was trained
}

const describeVariant = (v: Variant): string => v.capacity ? describeCapacity(v.capacity) : [describeAccel(v.accel), ...v.switches.map(describeSwitch)].filter((part) => part !== 'plain').join(' + ') || 'plain';

/**
 * Without a student only the teacher and the capacity rows run. `featureNet` defaults to the one
 * shipped for the teacher's data.
 */
export async function runCompressBench(teacher: TrainedModel, student: TrainedModel | undefined, settings: Partial<CompressBenchSettings> = {}, onProgress: (message: string) => void = () => undefined, featureNet?: FeatureNet): Promise<CompressBenchResult> {
  const s: CompressBenchSettings = { ...COMPRESS_BENCH_DEFAULTS, ...settings };
  const host = machine();
  if (!student && (s.switchAbove.length > 0 || s.stack.length > 0)) throw new InputError('switching and stack rows need a student');
  for (const other of [student, ...s.variants.map((v) => v.model)]) if (other) checkSwitchable(teacher, other);
  const compiled: CompiledNetwork[] = [];
  const network = (model: TrainedModel, accel: AccelConfig = {}): CompiledNetwork => {
    const built = new CompiledNetwork(model.model, model.params, accel, model.name);
    compiled.push(built);
    return built;
  };
  const studentRows = (student: TrainedModel): Variant[] => {
    // The networks that switches run, one per model, shared by every row.
    const studentSwitchNet = network(student);
    const teacherSwitchNet = network(teacher);
    return [
      { method: 'student', main: student, accel: {}, switches: [], network: network(student) },
      ...s.switchAbove.map((low): Variant => ({ method: 'switching', main: teacher, accel: {}, switches: [{ model: student, low, high: Infinity, network: studentSwitchNet }], network: network(teacher) })),
      ...s.stack.map((accel): Variant => ({ method: 'stack', main: student, accel, switches: [], network: network(student, accel) })),
      ...(s.stackSwitchBelow === undefined ? [] : s.stack.map((accel): Variant => ({ method: 'stack', main: student, accel, switches: [{ model: teacher, low: 0, high: s.stackSwitchBelow!, network: teacherSwitchNet }], network: network(student, accel) }))),
    ];
  };
  const variants: Variant[] = [
    { method: 'teacher', main: teacher, accel: {}, switches: [], network: network(teacher) },
    ...(student ? studentRows(student) : []),
    ...s.variants.map((capacity): Variant => ({ method: capacity.method, main: capacity.model, accel: {}, switches: [], network: network(capacity.model), capacity })),
  ];
  const scorer = featureNet ?? (await openFeatureNet(teacher));
  try {
    const rows: CompressBenchRow[] = [];
    let fdFloor = NaN;
    for (const { sampler, steps } of s.samplers) {
      const run = { sampler: sampler.name, samplerSettings: sampler.settings, steps, seed: s.seed };
      const label = `${describeSampler(sampler)} ${steps} steps`;
      const times = variants.map(() => [] as number[]);
      const cpuTimes = variants.map(() => [] as number[]);
      const timed: { flops: number; nfe: number }[] = []; // per row, for rows that are not scored
      for (let round = 0; round <= s.repeats; round++) {
        onProgress(`${label}: ${round === 0 ? `warming up ${variants.length} rows` : `timing round ${round}/${s.repeats}`}`);
        for (const [i, v] of variants.entries()) {
          const before = process.cpuUsage();
          const { wallS, flops, nfe } = await generate(v.main, { ...run, n: s.timingN, batch: s.timingN, network: v.network, switches: v.switches });
          const cpuMs = cpuMsSince(before);
          if (round > 0) {
            times[i]!.push(wallS);
            cpuTimes[i]!.push(cpuMs / 1000);
          }
          timed[i] = { flops: flops / s.timingN, nfe };
        }
      }
      const wallS = times.map(median);
      const cpuS = cpuTimes.map(median);
      let base: { gflops: number; wall: number; cpu: number } | undefined;
      for (const [i, v] of variants.entries()) {
        const config = describeVariant(v);
        let scores: ImageEvaluation | undefined;
        let { flops, nfe } = timed[i]!;
        if (v.capacity?.trained !== false) {
          onProgress(`${label}: scoring ${i + 1}/${variants.length}, ${v.method} ${config}`);
          const result = await generate(v.main, { ...run, n: s.n, batch: s.batch, network: v.network, switches: v.switches });
          scores = (await scoreSamples(teacher, result.images, result.labels, s.seed, scorer)) as ImageEvaluation;
          fdFloor = scores.fd_floor;
          ({ flops, nfe } = { flops: result.flops / s.n, nfe: result.nfe });
        }
        const gflops = flops / 1e9;
        base ??= { gflops, wall: wallS[i]!, cpu: cpuS[i]! };
        const speedup = base.wall / wallS[i]!;
        const flopSpeedup = base.gflops / gflops;
        const params = [v.main, ...v.switches.map((sw) => sw.model)].reduce((sum, m) => sum + m.model.paramCount(), 0);
        rows.push({
          method: v.method, model: v.main.name, config, sampler: describeSampler(sampler), nfe, params, gflops,
          wall_s: wallS[i]!, speedup, cpu_s: cpuS[i]!, cpu_speedup: base.cpu / cpuS[i]!, flop_speedup: flopSpeedup, flop_speedup_realised: speedup / flopSpeedup,
          fd: scores?.fd ?? null, accuracy: scores?.accuracy ?? null,
        });
      }
    }
    return { teacher: teacher.name, student: student?.name ?? null, n: s.n, timing_n: s.timingN, repeats: s.repeats, fd_floor: fdFloor, rows, machine: host };
  } finally {
    for (const built of compiled) await built.dispose();
    if (!featureNet) await scorer.dispose();
  }
}
