// The reflow losses, in the training graph. With r = v̂ − v the velocity residual of a sample (d
// coordinates) and t its time:
//   l2                squared L2: mean_i r_i²                           (the plain 2-rectified flow)
//   pseudo-huber      H = sqrt(mean_i r_i² + c²) − c                    (c per coordinate, below)
//   perceptual-huber  (1 − t)·H + w·P(D, x0), optionally ·1/t            (rectified flow++'s LPIPS-Huber)
// where D is the student's x0 prediction and P the mean squared difference of the frozen evaluation
// feature network's 128-d feature layer between D and the paired sample x0: the project's own image
// features stand in for LPIPS's VGG. Points have no feature network, so for them P is the mean
// squared difference of D and x0 themselves (an x0-space term, not a perceptual one).
//
// The pseudo-Huber constant. H above is iCT's sqrt(‖r‖² + c_d²) − c_d with c_d = 0.00054·√d, divided
// by √d: the same per-coordinate threshold c = 0.00054 at every d (H is quadratic while the residual's
// RMS is below it and linear above), and H in the units of an RMS residual, which keeps the balance
// between H and P the same for 2-D points and 3x32x32 images. Rectified flow++'s code instead uses
// c = 0.00054·d with H divided by d, which is the same threshold only at d = 1 and, at CIFAR's d = 3072,
// a per-coordinate threshold of 0.03 with H scaled 55 times smaller than here (where LPIPS dominates).

import type { Graph, Tensor } from '../engine/graph.js';
import { sameShape, type ParamTree } from '../engine/host-tensor.js';
import * as F from '../engine/ops/index.js';
import { type FeatureNetConfig, featureNetForward } from '../eval/feature-net.js';
import { ModuleContext } from '../models/module-context.js';
import { perSampleLoss } from '../train/loss.js';

export type ReflowLossName = 'l2' | 'pseudo-huber' | 'perceptual-huber';
export const reflowLossNames: readonly ReflowLossName[] = ['l2', 'pseudo-huber', 'perceptual-huber'];

export type PerceptualWeighting = 'one' | 'inverse-t';
export const perceptualWeightings: readonly PerceptualWeighting[] = ['one', 'inverse-t'];

export interface ReflowLoss {
  kind: ReflowLossName;
  huberC: number; // pseudo-Huber threshold per coordinate (see above)
  perceptualWeight: number; // w: weight of the perceptual term against (1 − t)·H
  perceptualWeighting: PerceptualWeighting; // 'inverse-t': P/t as rectified flow++'s --lpips_divt, its best CIFAR setting
}

export const REFLOW_LOSS_DEFAULTS: Omit<ReflowLoss, 'kind'> = {
  huberC: 0.00054, // iCT's constant per √d
  perceptualWeight: 1, // rectified flow++ adds LPIPS unweighted
  perceptualWeighting: 'inverse-t', // rectified flow++'s best configuration
};

/** Per-sample feeds that scale the loss terms: velocity scale, regression weight, perceptual weight. */
export function lossScales(loss: ReflowLoss, t: number, velocity: number, coordinates: number): { scale: number; weight: number; perceptual: number } {
  const huber = loss.kind !== 'l2';
  return {
    // perSampleLoss's pseudo-Huber sums over coordinates: scaling r by 1/√d makes it the mean.
    scale: huber ? velocity / Math.sqrt(coordinates) : velocity,
    weight: loss.kind === 'perceptual-huber' ? 1 - t : 1,
    perceptual: loss.kind === 'perceptual-huber' ? loss.perceptualWeight * (loss.perceptualWeighting === 'inverse-t' ? 1 / t : 1) : 0,
  };
}

/** Features of a batch [B, ...] as [B, features], compared by the perceptual term. */
export type FeatureMap = (x: Tensor) => Tensor;

/** A module context whose parameters are constants: a frozen network traced into a training graph. */
class FrozenContext extends ModuleContext {
  constructor(graph: Graph, private readonly values: ParamTree) {
    super(graph);
  }

  override param(name: string, shape: readonly number[]): Tensor {
    const path = this.currentPath ? `${this.currentPath}.${name}` : name;
    const value = this.values.get(path);
    if (!value || !sameShape(value.shape, shape)) throw new Error(`frozen network: no parameter '${path}' of shape [${shape.join(', ')}]`);
    return this.graph.constant(value);
  }
}

/** The evaluation feature network's feature layer, frozen. */
export function featureNetMap(config: FeatureNetConfig, params: ParamTree): FeatureMap {
  return (x) => featureNetForward(new FrozenContext(x.graph, params), config, x).features;
}

/** The identity: for points, which have no feature network. */
export const identityMap: FeatureMap = (x) => F.reshape(x, [x.shape[0]!, -1]);

/**
 * The batch loss from the network output and the feeds: target, scale, weight (all losses) and
 * x, data, denoisedInput, denoisedOutput, perceptual (perceptual-huber only).
 */
export function reflowLoss(loss: ReflowLoss, features: FeatureMap, output: Tensor, inputs: Record<string, Tensor>): Tensor {
  const batch = output.shape[0]!;
  const perSample = (name: string): Tensor => F.reshape(inputs[name]!, [batch, ...output.shape.slice(1).map(() => 1)]);
  const scale = perSample('scale');
  const regression = perSampleLoss(F.mul(output, scale), F.mul(inputs.target!, scale), loss.kind === 'l2' ? { kind: 'l2' } : { kind: 'pseudo-huber', c: loss.huberC });
  let total = F.mul(regression, inputs.weight!);
  if (loss.kind === 'perceptual-huber') {
    const denoised = F.add(F.mul(perSample('denoisedInput'), inputs.x!), F.mul(perSample('denoisedOutput'), output));
    // One pass over [D; x0], so the frozen weights are traced into the graph once.
    const [predicted, paired] = F.chunk(features(F.concat([denoised, inputs.data!], 0)), 2, 0);
    const distance = F.mean(F.square(F.sub(predicted!, paired!)), [1]);
    total = F.add(total, F.mul(distance, inputs.perceptual!));
  }
  return F.mean(total);
}
