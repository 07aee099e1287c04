// Shared by the compression tests: a random class-conditional U-Net "teacher" on shapes at 16x16
// (no shipped feature network fits that size) and a random feature network for it.

import { FeatureNet, checkFeatureNetConfig, initFeatureNetParams } from '../../src/eval/feature-net.js';
import { createModel } from '../../src/models/registry.js';
import type { UNet } from '../../src/models/unet.js';
import type { TrainedModel } from '../../src/pipeline/model-store.js';
import { objectiveSettings } from '../../src/train/objectives.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../src/train/trainer.js';
import { randomParams } from '../models/helpers.js';

export const tinyShapesUNet = (): UNet => createModel({
  arch: 'unet', resolution: 16, baseChannels: 8, channelMultipliers: [1, 2], blocksPerLevel: 1,
  attentionResolutions: [8], attentionHeadChannels: 8, groupNormGroups: 4, embeddingWidth: 16, numClasses: 8,
}) as UNet;

/** The teacher with random weights, trained (nominally) with `training` on shapes at 16x16. */
export function tinyTeacher(training: Partial<TrainConfig> = {}): TrainedModel {
  const model = tinyShapesUNet();
  const config = { ...TRAIN_DEFAULTS, data: 'shapes', resolution: 16, model: model.config, objective: objectiveSettings('edm'), cond: 'class' as const, ...training, dataShape: [3, 16, 16], classNames: null };
  return { name: 'teacher', location: '', model, params: randomParams(model, 0), config, saveId: 'random' };
}

export function randomFeatureNet(): FeatureNet {
  const config = checkFeatureNetConfig({ arch: 'feature-net', data: 'shapes', imageShape: [3, 16, 16], stageWidths: [8, 8], groups: 4, featureDim: 8, numClasses: 8, classNames: null });
  return new FeatureNet(config, initFeatureNetParams(config, 1));
}
