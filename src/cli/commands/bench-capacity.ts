// `hasten bench capacity`: the conditional convolution's execution forms and global-regional
// attention against what they replace, on untrained networks (their cost does not depend on training).

import { defineCommand } from '../command.js';
import { int, json, list } from '../options.js';
import { CAPACITY_BENCH_DEFAULTS, benchCapacity } from '../../bench/capacity.js';

const D = CAPACITY_BENCH_DEFAULTS;

export const benchCapacityCommand = defineCommand({
  path: ['bench', 'capacity'],
  summary: 'time ME-CondConv (both forms, vs a plain conv) and GRI attention (vs full attention, at >= 256 tokens; one layer profiled by op)',
  options: {
    channels: int({ placeholder: 'C', min: 1, default: D.channels, description: 'conditional convolution: input and output channels' }),
    side: int({ placeholder: 'S', min: 1, default: D.side, description: 'conditional convolution: side of the feature map' }),
    experts: int({ placeholder: 'K', min: 1, default: D.experts, description: 'conditional convolution: experts' }),
    batches: list('int', { placeholder: 'B,...', min: 1, default: D.batches, description: 'conditional convolution: batch sizes timed' }),
    'network-batch': int({ placeholder: 'B', min: 1, default: D.networkBatch, description: 'batch of the network forward passes' }),
    window: int({ placeholder: 'W', min: 1, default: D.window, description: 'GRI: side of the regional window, in tokens' }),
    pool: int({ placeholder: 'P', min: 1, default: D.pool, description: 'GRI: side of the cell pooled into one global token' }),
    repeats: int({ placeholder: 'N', min: 1, default: D.repeats, description: 'interleaved timed rounds; medians are reported' }),
    threads: int({ placeholder: 'N', min: 1, description: 'ONNX Runtime threads (default: all cores)' }),
    json: json(),
  },
  details: 'Times are medians of interleaved runs; quote the ratios. Results: docs/results/capacity.md.',
  async run(values) {
    const result = await benchCapacity({
      channels: values.channels, side: values.side, experts: values.experts, batches: [...values.batches],
      networkBatch: values['network-batch'], window: values.window, pool: values.pool, networks: D.networks, layer: D.layer, repeats: values.repeats, threads: values.threads,
    }, (what) => process.stderr.write(`bench capacity: ${what}\n`));
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    for (const r of result.cond_conv) {
      console.log(`condconv batch ${String(r.batch).padStart(3)} ${r.form.padEnd(8)} ${r.ms.toFixed(2).padStart(9)} ms  ${r.gflops.toFixed(3).padStart(8)} GFLOP  x${r.ratio_to_conv.toFixed(2)} of conv (CPU x${r.cpu_ratio_to_conv.toFixed(2)})${r.max_abs_diff === undefined ? '' : `  forms differ by ${r.max_abs_diff.toExponential(1)}`}`);
    }
    for (const r of result.attention) {
      console.log(`${r.network} (${r.tokens} tokens) ${r.attention.padEnd(4)}: attention ${(100 * r.attention_gflops_share).toFixed(1)}% of FLOPs, network ${r.network_ms.toFixed(1)} ms (x${r.network_speedup.toFixed(2)}; CPU x${r.network_cpu_speedup.toFixed(2)}), attention units ${r.attention_ms.toFixed(1)} ms (x${r.attention_speedup.toFixed(2)}; CPU x${r.attention_cpu_speedup.toFixed(2)})`);
    }
    const { heads, headWidth, side } = result.settings.layer;
    for (const r of result.layer_profile) {
      const kinds = r.kinds.map((k) => `${k.kind} ${k.ms.toFixed(1)} (${Object.entries(k.ops).map(([op, ms]) => `${op} ${ms.toFixed(1)}`).join(', ')})`).join('; ');
      console.log(`one layer (${heads} heads of ${headWidth}, ${side}x${side} tokens) ${r.attention.padEnd(4)}: ${r.ms.toFixed(1)} ms (CPU ${r.cpu_ms.toFixed(1)} ms), kernels ${r.kernels_ms.toFixed(1)} ms: ${kinds}`);
    }
  },
});
