// Knowledge distillation of a pruned student from its teacher (BK-SDM's losses, A-SDM's semantic
// supervision), as a BatchSource for the shared training loop. Every step noises a batch of data as
// the teacher's own objective does, runs the frozen teacher on it (outputs and block features), and
// trains the student on a weighted sum of:
//   data      the objective's loss against the clean data (EDM-weighted);
//   output    the same loss against the teacher's output: in EDM's preconditioned space this is the
//             denoised-output distance |D_s - D_t|^2 with EDM's weight 1/c_out^2;
//   feature   the mean over every block output both networks compute of the squared distance,
//             relative to the teacher feature's mean square (block outputs differ in scale by orders
//             of magnitude, and an absolute distance would weigh only the largest);
//   semantic  the squared distance of the predicted x0 of student and teacher in a frozen network's
//             feature space (semantic-aware supervision; ./semantic.ts says which network).
// Each term is logged. A weight of 0 leaves its term out of the graph.

import type { Dataset } from '../data/dataset.js';
import { edmPreconditioning } from '../diffusion/parameterisation.js';
import type { Tensor } from '../engine/graph.js';
import type { HostTensor, ParamTree } from '../engine/host-tensor.js';
import * as F from '../engine/ops/index.js';
import { type CompiledFunction, compile } from '../engine/runtime.js';
import { netTraceFn } from '../models/network.js';
import { ModuleContext, cacheName } from '../models/module-context.js';
import type { UNet } from '../models/unet.js';
import { weightedLoss } from '../train/loss.js';
import { noiseLevel } from '../train/objectives.js';
import type { TrainConfig } from '../train/trainer.js';
import { type BatchSource, objectiveSource } from '../train/batch-source.js';
import { CompressError } from './assemble.js';
import type { SemanticNetwork } from './semantic.js';

export interface DistillWeights {
  data: number; // the objective's loss against the data
  output: number; // against the teacher's output
  feature: number; // block features against the teacher's
  semantic: number; // predicted x0 against the teacher's in a frozen network's feature space (needs a semantic network)
}

export const DISTILL_WEIGHTS: Readonly<DistillWeights> = { data: 1, output: 1, feature: 1, semantic: 0 }; // BK-SDM's weights; semantic supervision opt-in

export interface Network {
  model: UNet;
  params: ParamTree;
}

/** Blocks (and the stem) whose outputs both networks compute: the feature loss's boundaries. */
export function sharedBlocks(teacher: UNet, student: UNet): string[] {
  const blocks = (model: UNet): string[] => model.modules().filter((m) => m.kind === 'block' || m.kind === 'stem').map((m) => m.path);
  const inStudent = new Set(blocks(student));
  return blocks(teacher).filter((path) => inStudent.has(path));
}

const TEACHER_OUT = 'teacher_out';
const TEACHER_SEMANTIC = 'teacher_semantic';
const X0_FROM_INPUT = 'x0_from_input';
const X0_FROM_OUTPUT = 'x0_from_output';
const teacherFeature = (path: string): string => `teacher:${path}`;
const SEMANTIC_SCOPE = 'semantic';

/** Per sample, the factors a and b of x0 = a * input + b * output under EDM's preconditioning (input = c_in * x). */
function x0Factors(noiseLabels: Float32Array, sigmaData: number): { fromInput: Float32Array; fromOutput: Float32Array } {
  const fromInput = new Float32Array(noiseLabels.length);
  const fromOutput = new Float32Array(noiseLabels.length);
  noiseLabels.forEach((label, b) => {
    const c = edmPreconditioning(noiseLevel(label), sigmaData);
    fromInput[b] = c.cSkip / c.cIn;
    fromOutput[b] = c.cOut;
  });
  return { fromInput, fromOutput };
}

const perSample = (values: Float32Array): HostTensor => ({ dtype: 'float32', shape: [values.length, 1, 1, 1], data: values });

export class DistillSource implements BatchSource {
  readonly capture: ReadonlySet<string>;
  readonly frozen?: ParamTree;
  private readonly base: BatchSource;
  private readonly teacherForward: CompiledFunction;

  constructor(private readonly config: TrainConfig, dataset: Dataset, teacher: Network, student: UNet, private readonly weights: DistillWeights, private readonly semanticNet?: SemanticNetwork) {
    if (config.objective.name !== 'edm') throw new CompressError(`distillation needs an EDM teacher (its output and x0 weighting), got a ${config.objective.name} objective`);
    for (const [term, w] of Object.entries(weights)) if (!(w >= 0 && Number.isFinite(w))) throw new CompressError(`the ${term} loss weight must be a number >= 0, got ${w}`);
    if (Object.values(weights).every((w) => w === 0)) throw new CompressError('every loss weight is 0: nothing to train on');
    if (weights.semantic > 0 && !semanticNet) throw new CompressError('semantic supervision needs a semantic network (a snippet encoder or a feature network)');
    this.base = objectiveSource(config, dataset);
    this.capture = new Set(weights.feature > 0 ? sharedBlocks(teacher.model, student) : []);
    if (weights.feature > 0 && this.capture.size === 0) throw new CompressError('the feature loss has no block both networks compute; set its weight to 0');
    if (weights.semantic > 0) this.frozen = new Map([...semanticNet!.params].map(([name, t]) => [`${SEMANTIC_SCOPE}.${name}`, t]));
    this.teacherForward = compile(netTraceFn(teacher.model, { capture: this.capture }), { params: teacher.params, name: 'teacher' });
  }

  async feeds(step: number): Promise<Record<string, HostTensor>> {
    const feeds = await this.base.feeds(step);
    const inputs: Record<string, HostTensor> = { x: feeds.x!, noise: feeds.noise! };
    if (feeds.label) inputs.label = feeds.label;
    if (feeds.caption) inputs.caption = feeds.caption;
    const teacher = await this.teacherForward.run(inputs);
    const out: Record<string, HostTensor> = { ...feeds, [TEACHER_OUT]: teacher.out! };
    for (const path of this.capture) out[teacherFeature(path)] = teacher[cacheName(path)]!;
    if (this.weights.semantic > 0) {
      const { fromInput, fromOutput } = x0Factors(feeds.noise!.data as Float32Array, this.config.objective.sigmaData);
      const x = feeds.x!.data as Float32Array;
      const y = teacher.out!.data as Float32Array;
      const per = x.length / fromInput.length;
      const x0 = Float32Array.from(x, (v, i) => fromInput[Math.floor(i / per)]! * v + fromOutput[Math.floor(i / per)]! * y[i]!);
      const features = await this.semanticNet!.features({ dtype: 'float32', shape: feeds.x!.shape, data: x0 });
      out[TEACHER_SEMANTIC] = { dtype: 'float32', shape: [fromInput.length, this.semanticNet!.width], data: features };
      out[X0_FROM_INPUT] = perSample(fromInput);
      out[X0_FROM_OUTPUT] = perSample(fromOutput);
    }
    return out;
  }

  loss(output: Tensor, inputs: Record<string, Tensor>, captured: ReadonlyMap<string, Tensor>): { loss: Tensor } & Record<string, Tensor> {
    const terms: Record<string, Tensor> = {};
    const { data, output: toOutput, feature, semantic } = this.weights;
    if (data > 0) terms.data = weightedLoss(output, inputs.target!, inputs.weight!);
    if (toOutput > 0) terms.output = weightedLoss(output, inputs[TEACHER_OUT]!, inputs.weight!);
    if (feature > 0) {
      const distances = [...this.capture].map((path) => {
        const target = inputs[teacherFeature(path)]!;
        return F.div(F.mean(F.square(F.sub(captured.get(path)!, target))), F.add(F.mean(F.square(target)), 1e-8));
      });
      terms.feature = F.div(distances.reduce((a, b) => F.add(a, b)), distances.length);
    }
    if (semantic > 0) {
      const x0 = F.add(F.mul(inputs.x!, inputs[X0_FROM_INPUT]!), F.mul(output, inputs[X0_FROM_OUTPUT]!));
      const ctx = new ModuleContext(output.graph);
      const features = ctx.module(SEMANTIC_SCOPE, () => this.semanticNet!.forward(ctx, x0));
      terms.semantic = F.mean(F.square(F.sub(features, inputs[TEACHER_SEMANTIC]!)));
    }
    const weighted = Object.entries(terms).map(([term, t]) => F.mul(t, this.weights[term as keyof DistillWeights]));
    return { loss: weighted.reduce((a, b) => F.add(a, b)), ...terms };
  }

  async dispose(): Promise<void> {
    await this.teacherForward.dispose();
  }
}
