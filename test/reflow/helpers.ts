// A tiny class-conditional toy2d teacher, trained for a few steps: enough to be a model, fast to make.

import { join } from 'node:path';
import { resolveModelConfig } from '../../src/models/registry.js';
import { objectiveSettings } from '../../src/train/objectives.js';
import { TRAIN_DEFAULTS, train } from '../../src/train/trainer.js';

export async function tinyTeacher(dir: string, steps = 3): Promise<string> {
  const out = join(dir, 'teacher');
  await train({
    ...TRAIN_DEFAULTS,
    data: 'toy2d:two-moons',
    model: resolveModelConfig({ arch: 'mlp', width: 32, depth: 1, embeddingWidth: 16, numClasses: 2 }),
    objective: objectiveSettings('edm'),
    cond: 'class',
    steps,
    batch: 128,
    lr: 3e-3,
    warmup: 5,
    checkpointEvery: steps,
  }, out);
  return out;
}
