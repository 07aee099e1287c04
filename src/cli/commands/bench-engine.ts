// `hasten bench engine`: the engine's forward and training throughput against the machine's roofline
// and against JavaScript tensor libraries on one reference workload.

import { defineCommand } from '../command.js';
import { flag, int, json, text } from '../options.js';
import { benchEngine } from '../../bench/engine.js';

export const benchEngineCommand = defineCommand({
  path: ['bench', 'engine'],
  summary: 'measure forward and training GFLOP/s against the ONNX Runtime roofline and JS peers',
  options: {
    json: json(),
    'skip-peers': flag({ description: 'do not measure the JavaScript peers (they take minutes)' }),
    repeats: int({ placeholder: 'N', min: 1, default: 7, description: 'timed runs per measurement; medians are reported' }),
    threads: int({ placeholder: 'N', min: 1, description: 'ONNX Runtime threads (default: all cores)' }),
    'torch-peer': text({ placeholder: 'SCRIPT', description: 'a Python script replicating the workload in PyTorch (default: $HASTEN_TORCH_PEER); skipped without it or without torch' }),
  },
  details: 'The reference workload (shapes and FLOPs) is documented in docs/results/engine.md.',
  async run(values) {
    const { repeats, threads } = values;
    const result = await benchEngine({
      threads,
      timing: { warmup: 2, repeats, budgetS: 120 },
      peers: !values['skip-peers'],
      torchPeer: values['torch-peer'] ?? process.env.HASTEN_TORCH_PEER,
      progress: (message) => process.stderr.write(`bench engine: ${message}\n`),
    });
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const ratio = (x: number): string => `${x.toFixed(1)} GFLOP/s (${((100 * x) / result.peak_gflops).toFixed(0)}% of peak)`;
    console.log(`peak (best of large Conv, MatMul): ${result.peak_gflops.toFixed(1)} GFLOP/s`);
    console.log(`forward:                           ${ratio(result.forward_gflops)}`);
    console.log(`training step:                     ${ratio(result.train_gflops)}`);
    console.log(`peak RSS:                          ${result.peak_rss_mb.toFixed(0)} MB`);
    const torch = result.torch;
    if ('skipped' in torch) console.log(`peer PyTorch: skipped: ${torch.skipped}`);
    else console.log(`peer PyTorch ${torch.torch}: forward ${torch.forward_ms.toFixed(1)} ms (channels_last ${torch.forward_ms_channels_last.toFixed(1)}), training step ${torch.train_ms.toFixed(1)} ms (channels_last ${torch.train_ms_channels_last.toFixed(1)}); hasten ${(result.details.forward_ms as number).toFixed(1)} / ${(result.details.train_ms as number).toFixed(1)} ms`);
    for (const [name, peer] of Object.entries(result.peers)) {
      if ('error' in peer) console.log(`peer ${name}: ${peer.error}`);
      else console.log(`peer ${name}: forward ${peer.forward_gflops.toFixed(2)} GFLOP/s, training ${peer.train_gflops === null ? 'impossible' : `${peer.train_gflops.toFixed(3)} GFLOP/s`}`);
    }
  },
});
