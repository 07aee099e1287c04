// `hasten inspect`: what import found in an imported model: inputs, schedule, the skip connections
// (each decoder Concat, its skip operand and producer, resolution and channels), the encoder/decoder
// boundary and the FLOPs of each part.

import { defineCommand } from '../command.js';
import { json, text } from '../options.js';
import { modelName } from '../sampling.js';
import { type ImportRecord, openImportedModel } from '../../import/model-folder.js';

/** The inspect JSON: skips in graph order, names as in the ONNX file; null parts where no U-Net structure was found. */
export function inspectJson(record: ImportRecord): object {
  const analysis = record.analysis;
  return {
    skips: analysis?.structure.skips.map((s) => ({ concat_node: s.concat_node, skip_operand: s.skip_operand, skip_producer_node: s.skip_producer_node, resolution: s.resolution, channels: s.channels })) ?? [],
    boundary: analysis?.structure.boundary ?? null,
    flops: analysis?.flops ?? null,
    ...(record.analysis_error ? { error: record.analysis_error } : {}),
  };
}

const mflops = (flops: number): string => `${(flops / 1e6).toFixed(1)} MFLOP`;

export function describeImport(record: ImportRecord): string {
  const { signature: s, schedule } = record;
  const lines = [
    `inputs: ${s.sample} [${s.batch === 'dynamic' ? 'B' : s.batch}, ${s.sampleShape.join(', ')}], ${s.timestep} ${s.timestepDtype} ${s.timestepShape === 'batch' ? 'per sample' : 'one per call'}${s.conditioning ? `, ${s.conditioning.name} [B, ${s.conditioning.shape.join(', ')}]` : ''}${s.classLabels ? `, ${s.classLabels.name} ${s.classLabels.dtype} (labels 0..${s.classLabels.classes - 1} from ${s.classLabels.source}; ${s.classLabels.nullClass === undefined ? 'no null class: no guidance' : `null class ${s.classLabels.nullClass}`})` : ''}; output ${s.output}`,
    `schedule: ${schedule.betaSchedule} betas over ${schedule.numTrainTimesteps} timesteps, predicting ${schedule.prediction} (${record.schedule_source})`,
  ];
  const analysis = record.analysis;
  if (!analysis) {
    lines.push(`structure: none found (${record.analysis_error}); samplers work, Skip-Tuning, DeepCache and encoder propagation do not`);
    return lines.join('\n');
  }
  lines.push(`skips (graph order, innermost first): ${analysis.structure.skips.length}`);
  for (const skip of analysis.structure.skips) lines.push(`  ${skip.concat_node} <- ${skip.skip_operand} (${skip.skip_producer_node}) ${skip.channels}x${skip.resolution.join('x')}`);
  lines.push(`boundary: encoder output ${analysis.structure.boundary.encoder_output}, decoder input ${analysis.structure.boundary.decoder_input}`);
  const f = analysis.flops;
  lines.push(`FLOPs per sample: encoder ${mflops(f.encoder)}, middle ${mflops(f.middle)}, decoder ${mflops(f.decoder)}, total ${mflops(f.total)}`);
  lines.push(`reuse steps: encoder propagation ${mflops(analysis.cut_flops.encoder_propagation)}; deepcache branch ${analysis.cut_flops.deepcache.map((c, b) => `${b}: ${mflops(c)}`).join(', ')}`);
  return lines.join('\n');
}

export const inspectCommand = defineCommand({
  path: ['inspect'],
  summary: "show an imported model's inputs, schedule, skip connections, encoder/decoder boundary and FLOPs",
  options: {
    model: modelName('model', { required: true, description: 'the imported model' }, 'imported'),
    json: json('print { skips: [{ concat_node, skip_operand, skip_producer_node, resolution, channels }], boundary: { encoder_output, decoder_input }, flops: { encoder, middle, decoder, total } }'),
  },
  async run(values) {
    const { record } = openImportedModel(values.model);
    console.log(values.json ? JSON.stringify(inspectJson(record), null, 2) : describeImport(record));
  },
});
