// The model config a dataset implies: its shape fixes the network's input and output sizes, the
// conditioning its class count or caption length; everything else comes from the user's settings
// and the architecture's defaults.

import type { Dataset } from '../data/dataset.js';
import { DatasetError } from '../data/dataset.js';
import { ModelConfigError } from '../models/config-checks.js';
import { type Architecture, type ModelConfig, resolveModelConfig } from '../models/registry.js';

/** What a model is conditioned on; 'memory': GMem snippets of a memory bank (src/gmem), fed as its condVector. */
export type ConditioningKind = 'none' | 'class' | 'caption' | 'memory';
export const CONDITIONINGS: readonly ConditioningKind[] = ['none', 'class', 'caption', 'memory'];

/** Caption tokens a caption-conditioned model reads. */
export const CAPTION_TOKENS = 12;

/** The checked, complete config of an `arch` model for `dataset` with `cond`, plus the user's `settings`. */
export function modelConfigForData(dataset: Dataset, arch: Architecture, cond: ConditioningKind, settings: Record<string, unknown> = {}): ModelConfig {
  if (cond === 'class' && !dataset.numClasses) throw new DatasetError(`dataset '${dataset.name}' has no class labels; use --cond none`);
  if (cond === 'caption' && !dataset.hasCaptions) throw new DatasetError(`dataset '${dataset.name}' has no captions`);
  const shape = dataset.shape;
  const fromData = arch === 'mlp' ? { dataDim: shape[0] } : { resolution: shape[1], inChannels: shape[0], outChannels: shape[0] };
  const conditioning = { numClasses: cond === 'class' ? dataset.numClasses : 0, captionTokens: cond === 'caption' ? CAPTION_TOKENS : 0 };
  const config = resolveModelConfig({ ...fromData, ...conditioning, ...settings, arch });
  if ((config.condVectorDim > 0) !== (cond === 'memory')) {
    throw new ModelConfigError(cond === 'memory' ? 'a memory-conditioned model needs condVectorDim: the snippet width of its bank' : 'a model with condVectorDim needs --cond memory --bank DIR, which feeds the snippets');
  }
  return config;
}
