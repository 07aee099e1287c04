// The plain reflow loss as a function of time: E ‖v̂(x_t, t) − (z − x0)‖² over pairs (x0, z) at
// fixed t, per coordinate. For a reflow model it is large near both ends and small in the middle
// (rectified flow++, Fig. 3), the reason for the U-shaped timestep distribution.

import type { TrainedModel } from '../pipeline/model-store.js';
import type { PairSet } from './pairs.js';
import type { ModelVelocity } from './velocity.js';

export interface LossByTimeSettings {
  bins: number; // times t = (j + 1/2)/bins, j = 0..bins − 1
  count: number; // pairs evaluated at each time: the first `count` of the set
  batch: number; // samples per network call
}

export const LOSS_BY_TIME_DEFAULTS: LossByTimeSettings = {
  bins: 20, // resolves the U shape, whose ends are within 0.05 of 0 and 1
  count: 1000, // each point within a few per cent
  batch: 250,
};

export async function lossByTime(trained: TrainedModel, velocity: ModelVelocity, pairs: PairSet, settings: LossByTimeSettings = LOSS_BY_TIME_DEFAULTS): Promise<{ t: number; loss: number }[]> {
  const perSample = pairs.dataShape.reduce((a, b) => a * b, 1);
  const count = Math.min(settings.count, pairs.count);
  const conditional = trained.model.config.numClasses > 0;
  if (conditional && !pairs.labels) throw new Error(`'${trained.name}' is class-conditional but the pairs in ${pairs.dir} have no labels`);
  const curve: { t: number; loss: number }[] = [];
  for (let j = 0; j < settings.bins; j++) {
    const t = (j + 0.5) / settings.bins;
    let total = 0;
    for (let start = 0; start < count; start += settings.batch) {
      const n = Math.min(settings.batch, count - start);
      const x0 = pairs.sample.subarray(start * perSample, (start + n) * perSample);
      const z = pairs.noise.subarray(start * perSample, (start + n) * perSample);
      const labels = conditional ? Array.from(pairs.labels!.subarray(start, start + n)) : undefined;
      const xt = Float64Array.from(x0, (x, i) => (1 - t) * x + t * z[i]!);
      const v = await velocity.field(labels, n)(xt, t, { step: j, stage: 0 });
      for (let i = 0; i < v.length; i++) total += (v[i]! - (z[i]! - x0[i]!)) ** 2;
    }
    curve.push({ t, loss: total / (count * perSample) });
  }
  return curve;
}
