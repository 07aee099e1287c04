// An MLP for low-dimensional data (2-D toy distributions, Gaussian mixtures): an input layer,
// residual SiLU blocks that each add a projection of the conditioning embedding, and an output layer
// that starts at zero.
//
// Module paths: emb (and text with captions), in (stem), blocks.<i>, out (head).

import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';
import { CONDITIONING_DEFAULTS, type ConditioningConfig, embedConditioning, validateConditioning } from './embeddings.js';
import { type ForwardOptions, type NetInputs, TracedNet, checkForwardOptions } from './network.js';
import { ModelConfigError, requireInteger } from './config-checks.js';
import { type ModuleRole, namedModule } from './declarations.js';
import { linear } from './layers.js';
import type { ModuleContext } from './module-context.js';

export interface MlpConfig extends ConditioningConfig {
  arch: 'mlp';
  dataDim: number;
  width: number;
  depth: number;
  embeddingWidth: number;
}

export const MLP_DEFAULTS: MlpConfig = {
  arch: 'mlp',
  dataDim: 2, // size of one sample of x
  width: 256, // hidden width
  depth: 3, // residual blocks
  embeddingWidth: 128, // width of the conditioning embedding
  ...CONDITIONING_DEFAULTS,
};

function validate(config: MlpConfig): void {
  for (const key of ['dataDim', 'width', 'depth', 'embeddingWidth'] as const) requireInteger('mlp', key, config[key], 1);
  if (config.embeddingWidth % 2 !== 0) throw new ModelConfigError(`mlp: setting 'embeddingWidth' must be even, got ${config.embeddingWidth}`);
  validateConditioning('mlp', config);
}

export class Mlp extends TracedNet<MlpConfig> {
  readonly dataShape: readonly number[];
  protected readonly roles: Readonly<Record<string, ModuleRole>> = { text: 'conditioning', emb: 'conditioning', in: 'input', blocks: 'backbone', out: 'output' };

  constructor(config: MlpConfig) {
    validate(config);
    super(config);
    this.dataShape = [config.dataDim];
  }

  forward(ctx: ModuleContext, inputs: NetInputs, options: ForwardOptions = {}): Tensor {
    checkForwardOptions('mlp', options, []);
    const { x, ...conditioningInputs } = inputs;
    const { emb } = embedConditioning(ctx, 'mlp', this.config, this.config.embeddingWidth, conditioningInputs);
    const { width, depth, dataDim } = this.config;
    let h = namedModule(ctx, 'in', 'stem', () => linear(ctx, '', x, width));
    for (let i = 0; i < depth; i++) {
      const input = h;
      h = namedModule(ctx, `blocks.${i}`, 'block', () => {
        const hidden = F.add(linear(ctx, 'fc1', F.silu(input), width), linear(ctx, 'emb', emb, width));
        return F.add(input, linear(ctx, 'fc2', F.silu(hidden), width, 'zero'));
      });
    }
    const last = h;
    return namedModule(ctx, 'out', 'head', () => linear(ctx, '', F.silu(last), dataDim, 'zero'));
  }
}
