// The regression losses of the training graph. Every objective feeds (network input, noise label,
// target, per-sample weight); the loss compares the network output with the target per sample.

import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';

export type RegressionLoss = { kind: 'l2' } | { kind: 'pseudo-huber'; c: number };

/** Per-sample loss [B]: mean squared error, or the pseudo-Huber distance sqrt(|d|² + c²) − c over the sample. */
export function perSampleLoss(output: Tensor, target: Tensor, loss: RegressionLoss = { kind: 'l2' }): Tensor {
  const axes = Array.from({ length: output.rank - 1 }, (_, i) => i + 1);
  const squared = F.square(F.sub(output, target));
  if (loss.kind === 'l2') return F.mean(squared, axes);
  return F.sub(F.sqrt(F.add(F.sum(squared, axes), loss.c * loss.c)), loss.c);
}

/** The batch loss: per-sample losses weighted by `weight` [B], averaged over the batch. */
export function weightedLoss(output: Tensor, target: Tensor, weight: Tensor, loss?: RegressionLoss): Tensor {
  return F.mean(F.mul(perSampleLoss(output, target, loss), weight));
}
