// Training objectives as host-side batch preparation. Every objective (one file each in objectives/)
// turns clean data into a network input, a noise label, a regression target and a per-sample weight;
// the compiled graph is the same weighted regression for all of them. The noise label is always log(rho)/4 with rho = sigma/alpha,
// the process's EDM-equivalent noise level, so one time embedding serves every objective.

import { RngStream } from '../engine/rng.js';
import type { Process } from '../diffusion/process.js';
import type { DenoiseCall, Denoiser } from '../diffusion/denoiser.js';
import { InputError } from '../engine/input-error.js';
import { noiseLabel } from '../diffusion/noise-label.js';
import type { Objective, ObjectiveName, ObjectiveSettings } from './objectives/objective.js';
import { edmObjective } from './objectives/edm.js';
import { rfObjective } from './objectives/rf.js';
import { vpObjective } from './objectives/vp.js';

export type { ObjectiveName, ObjectiveSettings, PairCoefficients } from './objectives/objective.js';

/** Every objective, one file each under objectives/. */
export const OBJECTIVES: Readonly<Record<ObjectiveName, Objective>> = { edm: edmObjective, vp: vpObjective, rf: rfObjective };
export const objectiveNames = Object.keys(OBJECTIVES) as readonly ObjectiveName[];

export const OBJECTIVE_DEFAULTS: Omit<ObjectiveSettings, 'name'> = {
  sigmaData: 0.5, // EDM's value for images in [-1, 1]
  pMean: -1.2, // EDM's value
  pStd: 1.2, // EDM's value
  rfTime: 'uniform', // the original rectified flow; 'logit-normal' follows SD3
  logitMean: 0, // SD3's value
  logitStd: 1, // SD3's value
};

export function objectiveSettings(name: string, overrides: Partial<ObjectiveSettings> = {}): ObjectiveSettings {
  if (!objectiveNames.includes(name as ObjectiveName)) throw new InputError(`unknown objective '${name}' (known: ${objectiveNames.join(', ')})`);
  return { ...OBJECTIVE_DEFAULTS, ...overrides, name: name as ObjectiveName };
}

/** The process the objective trains on, which its samplers integrate. */
export function objectiveProcess(objective: ObjectiveSettings): Process {
  return OBJECTIVES[objective.name].process(objective);
}

export interface PreparedBatch {
  input: Float32Array; // network input, same layout as the data
  noiseLabel: Float32Array; // [batch]: log(rho)/4
  target: Float32Array; // regression target of the network output
  weight: Float32Array; // [batch]: per-sample loss weight
}

export { noiseLabel, noiseLevel } from '../diffusion/noise-label.js';

/**
 * Noises a batch of clean samples (`data`, batch x perSample values) for one training step. The draws
 * of sample k depend only on (seed, step, k), so a resumed run sees exactly the same noise.
 */
export function prepareBatch(objective: ObjectiveSettings, data: Float32Array, batch: number, seed: number, step: number): PreparedBatch {
  if ((objective.network ?? objective.name) !== objective.name) {
    throw new Error(`a ${objective.name} objective with a ${objective.network} network is a reflow student, trained on pairs: continue it with 'hasten reflow train --resume'`);
  }
  const perSample = data.length / batch;
  const rng = RngStream.fromSeed(seed, 'objective', step);
  const eps = rng.derive('noise').normal({ start: 0, count: batch }, perSample);
  const normal = rng.derive('level').normal({ start: 0, count: batch }, 1, new Float64Array(batch));
  const uniform = rng.derive('time').uniform({ start: 0, count: batch }, 1, new Float64Array(batch));
  const out: PreparedBatch = { input: new Float32Array(data.length), noiseLabel: new Float32Array(batch), target: new Float32Array(data.length), weight: new Float32Array(batch).fill(1) };
  const definition = OBJECTIVES[objective.name];
  const process = definition.process(objective);
  for (let b = 0; b < batch; b++) {
    const level = definition.sampleLevel(objective, process, normal[b]!, uniform[b]!);
    out.noiseLabel[b] = noiseLabel(level.sigma / level.alpha);
    const values = (array: Float32Array): Float32Array => array.subarray(b * perSample, (b + 1) * perSample);
    definition.prepare(objective, level, values(data), values(eps), values(out.input), values(out.target));
  }
  return out;
}

/**
 * Runs the network on a float32 batch: input and noise labels in, raw output out. `call` says which
 * sampler evaluation this is, for acceleration policies that key their caches on the step.
 */
export type NetworkRunner = (input: Float32Array, noiseLabels: Float32Array, batch: number, call: DenoiseCall) => Promise<Float32Array>;

/** The trained network as a Denoiser for the samplers, under the objective's own process. */
export function networkDenoiser(objective: ObjectiveSettings, run: NetworkRunner, batch: number): { denoiser: Denoiser; process: Process } {
  const process = objectiveProcess(objective);
  const network = objective.network ?? objective.name;
  const nativeProcess = objectiveProcess({ ...objective, name: network });
  const withLabel = async (x: Float64Array, label: number, call: DenoiseCall): Promise<Float64Array> =>
    // The typed-array constructors convert element-wise as from() does, without its iterator.
    new Float64Array(await run(new Float32Array(x), new Float32Array(batch).fill(label), batch, call));
  const native = OBJECTIVES[network].denoiser(objective, nativeProcess, withLabel);
  return { process, denoiser: network === objective.name ? native : underProcess(native, nativeProcess, process) };
}

/**
 * A denoiser of one process's time used on another's: x/alpha at the same rho is the same noisy
 * point in both (x0 + rho·eps), so only the time and the scale of x change.
 */
function underProcess(denoiser: Denoiser, native: Process, process: Process): Denoiser {
  return {
    denoise(x, t, call) {
      const nativeTime = native.tFromRho(process.rho(t));
      const scale = native.alpha(nativeTime) / process.alpha(t);
      return denoiser.denoise(x.map((xi) => scale * xi), nativeTime, call);
    },
  };
}
