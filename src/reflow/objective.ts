// The reflow regression on a pair (x0, z) at rectified-flow time t: x_t = (1 − t)·x0 + t·z, target
// velocity v = z − x0. The student keeps its teacher's network and parameterisation, so that it
// starts from the teacher's weights and every sampler reads it through the usual change of
// variables; the loss on the velocity then becomes, per parameterisation, a regression of the raw
// network output F on a target T with v̂ − v = k·(F − T). For EDM's preconditioned network with
// sigma = t/(1 − t) (what rectified flow++ does):
//   input c_in·x_t/(1 − t),   T = (x0 − c_skip·x_t/(1 − t))/c_out,   k = −c_out/t,
// i.e. EDM's own regression with the paired noise in place of fresh noise, weighted by c_out²/t².

import { OBJECTIVES, type ObjectiveName, type ObjectiveSettings, type PairCoefficients, noiseLabel } from '../train/objectives.js';

/**
 * The student's objective: rectified flow (its process and samplers) from `tMax`, the top of its
 * training times, so that sampling starts where it was trained; with the teacher's network.
 */
export function studentObjective(teacher: ObjectiveSettings, tMax: number): ObjectiveSettings {
  return { ...teacher, name: 'rf', network: teacher.network ?? teacher.name, rfTMax: tMax };
}

/** How a network of one parameterisation sees the pair point at rectified-flow time t (see each objective's `pair`). */
export function pairCoefficients(network: ObjectiveName, t: number, sigmaData: number): PairCoefficients {
  if (!(t > 0 && t < 1)) throw new Error(`reflow: t must be in (0, 1), got ${t}`);
  return OBJECTIVES[network].pair(t, sigmaData);
}

export interface PairBatch {
  input: Float32Array; // network input, the data's layout
  noiseLabel: Float32Array; // [batch]: log(t/(1 − t))/4, as every objective labels noise
  target: Float32Array; // regression target T of the network output
  velocity: Float32Array; // [batch]: k
  denoisedInput: Float32Array; // [batch]
  denoisedOutput: Float32Array; // [batch]
}

/** The regression of a batch of pairs (x0, z) at times t (one per sample). */
export function preparePairBatch(network: ObjectiveName, sigmaData: number, x0: Float32Array, z: Float32Array, t: Float64Array): PairBatch {
  const batch = t.length;
  const perSample = x0.length / batch;
  const out: PairBatch = {
    input: new Float32Array(x0.length), noiseLabel: new Float32Array(batch), target: new Float32Array(x0.length),
    velocity: new Float32Array(batch), denoisedInput: new Float32Array(batch), denoisedOutput: new Float32Array(batch),
  };
  for (let b = 0; b < batch; b++) {
    const time = t[b]!;
    const c = pairCoefficients(network, time, sigmaData);
    out.noiseLabel[b] = noiseLabel(time / (1 - time));
    out.velocity[b] = c.velocity;
    out.denoisedInput[b] = c.denoisedInput;
    out.denoisedOutput[b] = c.denoisedOutput;
    for (let i = b * perSample; i < (b + 1) * perSample; i++) {
      out.input[i] = c.input * ((1 - time) * x0[i]! + time * z[i]!);
      out.target[i] = c.targetData * x0[i]! + c.targetNoise * z[i]!;
    }
  }
  return out;
}
