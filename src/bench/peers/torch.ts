// PyTorch as a peer of `hasten bench engine`: a Python script that replicates the reference workload
// in PyTorch (same layers, shapes, batch and FLOP convention) and prints one JSON object with its
// forward and training-step times in the default (NCHW) and channels_last layouts. The project never
// installs Python or torch; where either is missing the peer is skipped with the reason.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { workloadForwardFlops, workloadTrainFlops } from '../engine-workload.js';
import { gflops } from '../timing.js';

export interface TorchPeerResult {
  torch: string; // torch.__version__
  forward_ms: number; // NCHW
  train_ms: number;
  forward_ms_channels_last: number;
  train_ms_channels_last: number;
  forward_gflops: number; // best layout, by the workload's FLOP count
  train_gflops: number;
}

export type TorchPeer = TorchPeerResult | { skipped: string };

const PYTHON = process.env.HASTEN_PYTHON ?? 'python3';

/** Runs `script` (see the module comment) with `threads` threads, or says why it cannot. */
export function measureTorchPeer(script: string | undefined, threads: number, timeoutS = 900): TorchPeer {
  if (!script) return { skipped: 'no PyTorch replica given (--torch-peer SCRIPT)' };
  if (!existsSync(script)) return { skipped: `the PyTorch replica ${script} does not exist` };
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (probe.error) return { skipped: `no ${PYTHON} on this machine (${probe.error.message})` };
  if (probe.status !== 0) return { skipped: `${PYTHON} has no torch (${(probe.stderr.trim().split('\n').pop() ?? '').trim()})` };
  const run = spawnSync(PYTHON, [script, String(threads)], { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 1 << 20 });
  if (run.status !== 0) return { skipped: `${script} failed: ${(run.stderr || run.error?.message || '').trim().split('\n').pop()}` };
  let raw: Record<string, number | string>;
  try {
    raw = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
  } catch {
    return { skipped: `${script} printed no JSON line` };
  }
  const field = (name: string): number => {
    const value = raw[name];
    if (typeof value !== 'number' || !(value > 0)) throw new Error(`${script}: '${name}' missing from its output`);
    return value;
  };
  const result = {
    torch: String(raw.torch),
    forward_ms: field('forward_ms'),
    train_ms: field('train_ms'),
    forward_ms_channels_last: field('forward_ms_channels_last'),
    train_ms_channels_last: field('train_ms_channels_last'),
  };
  return {
    ...result,
    forward_gflops: gflops(workloadForwardFlops(), Math.min(result.forward_ms, result.forward_ms_channels_last)),
    train_gflops: gflops(workloadTrainFlops(), Math.min(result.train_ms, result.train_ms_channels_last)),
  };
}
