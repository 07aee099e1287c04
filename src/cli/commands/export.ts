// `hasten export`: writes a trained model's weights (the EMA when there is one, without optimizer
// state) as a small checkpoint for shipping, and optionally a standalone ONNX file with the weights
// as initializers that any ONNX Runtime can run.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, defineCommand } from '../command.js';
import { exportDenoiser } from '../../pipeline/denoiser-export.js';
import { flag, int, json, text } from '../options.js';
import { modelOption } from '../sampling.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';
import { saveCheckpoint } from '../../engine/checkpoint.js';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { encodeModel } from '../../engine/onnx/codec.js';
import { dynamicBatch } from '../../engine/onnx/dynamic-batch.js';
import { compile } from '../../engine/runtime.js';
import { netTraceFn } from '../../models/network.js';

export const exportCommand = defineCommand({
  path: ['export'],
  summary: "write a model's weights for shipping, and optionally a standalone ONNX file",
  options: {
    model: modelOption,
    out: text({ placeholder: 'DIR', required: true, description: 'directory for checkpoint.safetensors + checkpoint.json (and model.onnx)' }),
    onnx: flag({ description: 'also write model.onnx: the raw network F(x, noise, label) with the weights inside' }),
    denoiser: flag({ description: 'with --onnx: the whole denoiser in diffusers\' form instead (sample, int64 timestep[, int64 class_labels] -> out_sample, the noise), with scheduler_config.json and config.json; hasten import reads it back' }),
    batch: int({ placeholder: 'B', min: 1, description: 'fix the ONNX graph\'s batch axis at B (default: a dynamic batch axis named "batch")' }),
    json: json('print { out, files } as JSON'),
  },
  details: 'The ONNX graph takes x [B, ...], noise [B] (log(sigma/alpha)/4) and, for conditional models, label [B] (int64); see docs/models.md.',
  async run(values) {
    const { out } = values;
    // Before any work: these shape the ONNX file only.
    if (!values.onnx && (values.denoiser || values.batch !== undefined)) throw new UsageError(`--${values.denoiser ? 'denoiser' : 'batch'} shapes the ONNX file: give it with --onnx`);
    const batch = values.batch ?? 'dynamic';
    const trained = await loadTrainedModel(values.model);
    mkdirSync(out, { recursive: true });
    await saveCheckpoint(out, { params: trained.params, config: trained.config, step: trained.step });
    const files = ['checkpoint.safetensors', 'checkpoint.json'];
    if (values.denoiser) {
      const { model, schedulerConfig, modelConfig } = exportDenoiser(trained, { batch });
      await writeFileAtomic(join(out, 'model.onnx'), encodeModel(model));
      await writeFileAtomic(join(out, 'scheduler_config.json'), `${JSON.stringify(schedulerConfig, null, 2)}\n`);
      await writeFileAtomic(join(out, 'config.json'), `${JSON.stringify(modelConfig, null, 2)}\n`);
      files.push('model.onnx', 'scheduler_config.json', 'config.json');
    } else if (values.onnx) {
      const forward = compile(netTraceFn(trained.model), { params: trained.params, name: trained.name });
      const lowerAt = (rows: number) => forward.lower(trained.model.inputSpecs(rows)).model;
      const model = batch === 'dynamic' ? dynamicBatch(lowerAt) : lowerAt(batch);
      await writeFileAtomic(join(out, 'model.onnx'), encodeModel(model));
      files.push('model.onnx');
    }
    if (values.json) console.log(JSON.stringify({ out, files: files.map((file) => join(out, file)) }));
    else console.log(`wrote ${join(out, files[0]!)} and ${files.slice(1).join(' and ')}`);
  },
});
