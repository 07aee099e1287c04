// Where a pruned student's conditional convolutions start (A-SDM's CLME-CondConv: the experts of a
// surviving convolution inherit the convolutions that were pruned around it).
//   'clme'       expert 0 from the surviving convolution, the others from the same convolution (conv0
//                or conv1) of the residual layers removed at the same stage (encoder or decoder level,
//                or the middle), in execution order; experts left over start as 'surviving' ones;
//   'surviving'  expert 0 the surviving convolution, the others it plus noise (10% of its weights' spread);
//   'random'     the layer's own initialisation, as a model trained from scratch.
// Routing starts at zero, so every routing weight is sigmoid(0) = 1/2, and each expert is its source
// times 2/K: the first kernel is the mean of the sources (the surviving one itself under 'surviving',
// up to the noise). A source of another shape (a decoder layer that reads a different concatenation)
// is shape-matched by its leading corner: the overlapping output and input channels are copied, the
// rest of the expert is zero.

import { type HostTensor, type ParamTree, numel } from '../engine/host-tensor.js';
import { RngStream } from '../engine/rng.js';
import { initParams } from '../models/init.js';
import type { UNet } from '../models/unet.js';
import { stageOf } from './stage.js';

export const EXPERT_INITS = ['clme', 'surviving', 'random'] as const;
export type ExpertInit = (typeof EXPERT_INITS)[number];

const CONV_PARAM = /^(.+\.res)\.(conv[01])\.(experts|bias|route\.weight|route\.bias|routeEmb\.weight)$/;

/** The residual layers whose convolutions a removal prunes. */
function prunedLayers(removed: string): string[] {
  if (removed === 'mid') return ['mid.0.res', 'mid.1.res'];
  return [removed.endsWith('.res') ? removed : `${removed}.res`];
}

/** The teacher convolutions (parameter prefixes, e.g. 'dec.1.0.res.conv0') the experts of `layer`'s `conv` start from under 'clme', the surviving one first. */
export function expertSources(student: UNet, teacherParams: ParamTree, layer: string, conv: string): string[] {
  const stage = stageOf(layer);
  const pruned = student.config.removedModules.filter((path) => stageOf(path) === stage).flatMap(prunedLayers).filter((path) => path !== layer);
  return [layer, ...pruned].map((path) => `${path}.${conv}`).filter((prefix) => teacherParams.has(`${prefix}.weight`));
}

/** `source` [O', I', k, k] copied into the leading corner of a zero [O, I, k, k], times `scale`. */
function cornerCopy(source: HostTensor, shape: readonly number[], scale: number): Float32Array {
  const [outs, ins, kh, kw] = shape as number[];
  const [sourceOuts, sourceIns] = source.shape as number[];
  const taps = kh! * kw!;
  const out = new Float32Array(outs! * ins! * taps);
  for (let o = 0; o < Math.min(outs!, sourceOuts!); o++) {
    for (let i = 0; i < Math.min(ins!, sourceIns!); i++) {
      for (let t = 0; t < taps; t++) out[(o * ins! + i) * taps + t] = scale * Number(source.data[(o * sourceIns! + i) * taps + t]);
    }
  }
  return out;
}

function spread(values: ArrayLike<number>): number {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    squares += values[i]! * values[i]!;
  }
  const mean = sum / values.length;
  return Math.sqrt(Math.max(squares / values.length - mean * mean, 0));
}

/**
 * The starting values of every conditional-convolution parameter of `student` (names -> tensors),
 * from the teacher's convolutions as `init` says. Other parameters are not in the result.
 */
export function expertParams(student: UNet, teacherParams: ParamTree, init: ExpertInit, seed: number): ParamTree {
  const shapes = student.paramShapes();
  const names = [...shapes.keys()].filter((name) => CONV_PARAM.test(name) && student.config.condConvLayers.includes(CONV_PARAM.exec(name)![1]!));
  const out: ParamTree = new Map();
  if (init === 'random') {
    const fresh = initParams(student, seed);
    for (const name of names) out.set(name, fresh.get(name)!);
    return out;
  }
  const noise = RngStream.fromSeed(seed, 'expert-init');
  for (const name of names) {
    const [, layer, conv, what] = CONV_PARAM.exec(name)!;
    const shape = shapes.get(name)!;
    const size = numel(shape);
    if (what !== 'experts' && what !== 'bias') {
      out.set(name, { dtype: 'float32', shape, data: new Float32Array(size) });
      continue;
    }
    const experts = shape[0]!;
    const inherited = expertSources(student, teacherParams, layer!, conv!);
    const sources = init === 'clme' ? inherited : inherited.slice(0, 1);
    const surviving = `${layer}.${conv}`;
    const data = new Float32Array(size);
    const perExpert = size / experts;
    for (let k = 0; k < experts; k++) {
      const source = sources[k] ?? surviving;
      const tensor = teacherParams.get(`${source}.${what === 'experts' ? 'weight' : 'bias'}`)!;
      const expert = what === 'experts'
        ? cornerCopy(tensor, shape.slice(1), 2 / experts)
        : Float32Array.from({ length: perExpert }, (_, o) => (o < tensor.data.length ? (2 / experts) * Number(tensor.data[o]) : 0));
      if (what === 'experts' && sources[k] === undefined) {
        const scale = 0.1 * spread(expert);
        const draws = noise.derive(name).normal({ start: k, count: 1 }, perExpert);
        for (let i = 0; i < perExpert; i++) expert[i]! += scale * draws[i]!;
      }
      data.set(expert, k * perExpert);
    }
    out.set(name, { dtype: 'float32', shape, data });
  }
  return out;
}
