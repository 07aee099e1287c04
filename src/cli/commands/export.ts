// `hasten export`: writes a trained model's weights (the EMA when there is one, without optimizer
// state) as a small checkpoint for shipping, and optionally a standalone ONNX file with the weights
// as initializers that any ONNX Runtime can run.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, UsageError, parseNumber } from '../command.js';
import { saveCheckpoint } from '../../engine/checkpoint.js';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { encodeModel } from '../../engine/onnx/codec.js';
import { compile } from '../../engine/runtime.js';
import { netTraceFn } from '../../models/layers.js';
import { openModel } from './sample.js';

export const exportCommand: Command = {
  path: ['export'],
  summary: "write a model's weights for shipping, and optionally a standalone ONNX file",
  options: {
    model: { type: 'string', placeholder: 'NAME|PATH', description: 'a shipped model name or a training output directory' },
    out: { type: 'string', placeholder: 'DIR', description: 'directory for checkpoint.safetensors + checkpoint.json (and model.onnx)' },
    onnx: { type: 'boolean', description: 'also write model.onnx: the raw network F(x, noise, label) with the weights inside' },
    batch: { type: 'string', placeholder: 'B', description: 'batch size of the ONNX graph (shapes are static)', default: '1' },
  },
  details: 'The ONNX graph takes x [B, ...], noise [B] (log(sigma/alpha)/4) and, for conditional models, label [B] (int64); see docs/models.md.',
  async run(values) {
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('--out DIR is required');
    const batch = parseNumber('batch', values.batch, { integer: true, min: 1 })!;
    const trained = await openModel(values.model);
    mkdirSync(out, { recursive: true });
    await saveCheckpoint(out, { params: trained.params, config: trained.config, step: trained.step });
    let written = `${join(out, 'checkpoint.safetensors')} and checkpoint.json`;
    if (values.onnx) {
      const forward = compile(netTraceFn(trained.model), { params: trained.params, name: trained.name });
      const { model } = forward.lower(trained.model.inputSpecs(batch));
      await writeFileAtomic(join(out, 'model.onnx'), encodeModel(model));
      written += ' and model.onnx';
    }
    console.log(`wrote ${written}`);
  },
};
