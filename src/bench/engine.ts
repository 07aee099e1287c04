// `hasten bench engine`: how close the engine's forward pass and training step come to the
// machine's practical roofline (ONNX Runtime's best large Conv/MatMul), and how it compares with
// JavaScript tensor libraries on the same workload.

import type { ParamTree } from '../engine/host-tensor.js';
import * as F from '../engine/ops/index.js';
import { compile, traceFunction } from '../engine/runtime.js';
import { grad } from '../engine/autodiff.js';
import { savedForBackwardBytes } from '../engine/graph-stats.js';
import { TrainStep } from '../engine/train-step.js';
import { WORKLOAD, randomTensor, workloadForward, workloadParams, workloadForwardFlops, workloadParamCount, workloadTrainFlops } from './engine-workload.js';
import { type TimingOptions, gflops, timeIt } from './timing.js';
import { measureTrainingMemory } from './engine-memory.js';
import type { PeerResult } from './peers/tfjs.js';
import { type TorchPeer, measureTorchPeer } from './peers/torch.js';
import { availableParallelism } from 'node:os';

export interface EngineBenchOptions {
  threads?: number; // ONNX Runtime intra-op threads (default: all cores)
  timing?: TimingOptions; // repeats and budget of each measurement
  peers?: boolean; // also measure the JavaScript peers (slow: minutes)
  torchPeer?: string; // a Python script replicating the workload in PyTorch (peers/torch.ts); skipped without one or without torch
  progress?: (message: string) => void;
}


export interface EngineBenchResult {
  peak_gflops: number;
  forward_gflops: number;
  train_gflops: number;
  peers: Record<string, PeerResult | { error: string }>;
  torch: TorchPeer;
  peak_rss_mb: number;
  details: Record<string, unknown>;
}

/** The practical roofline: the best of a large 3x3 Conv and a large MatMul on ONNX Runtime. */
export async function measurePeak(options: EngineBenchOptions): Promise<{ conv: number; matmul: number }> {
  const conv = { batch: 16, channels: 128, size: 32 };
  const convWeights: ParamTree = new Map([['w', randomTensor([conv.channels, conv.channels, 3, 3], 1, 0.05)]]);
  const convFn = compile((g, { x }) => ({ y: F.conv2d(x!, g.param('w', [conv.channels, conv.channels, 3, 3]), undefined, { padding: 1 }) }), { params: convWeights, threads: options.threads });
  const x = randomTensor([conv.batch, conv.channels, conv.size, conv.size], 2);
  const convTime = await timeIt(() => convFn.run({ x }), options.timing);
  await convFn.dispose();
  const convFlops = 2 * conv.batch * conv.channels * conv.size ** 2 * conv.channels * 9;

  const n = 2048;
  const matmulFn = compile((g, { a, b }) => ({ y: F.matmul(a!, b!) }), { params: new Map(), threads: options.threads });
  const a = randomTensor([n, n], 3);
  const b = randomTensor([n, n], 4);
  const matmulTime = await timeIt(() => matmulFn.run({ a, b }), options.timing);
  await matmulFn.dispose();
  return { conv: gflops(convFlops, convTime.medianMs), matmul: gflops(2 * n ** 3, matmulTime.medianMs) };
}

export async function measureForward(options: EngineBenchOptions, params = workloadParams()): Promise<{ gflops: number; medianMs: number }> {
  const forward = compile((g, { x }) => ({ y: workloadForward(g, x!) }), { params, threads: options.threads });
  const x = randomTensor([WORKLOAD.batch, WORKLOAD.imageChannels, WORKLOAD.resolution, WORKLOAD.resolution], 5);
  const t = await timeIt(() => forward.run({ x }), options.timing);
  await forward.dispose();
  return { gflops: gflops(workloadForwardFlops(), t.medianMs), medianMs: t.medianMs };
}

export async function measureTrain(options: EngineBenchOptions): Promise<{ gflops: number; medianMs: number; loss: number }> {
  const step = new TrainStep(workloadParams(), (g, { x, target }) => F.mean(F.square(F.sub(workloadForward(g, x!), target!))), { threads: options.threads });
  const shape = [WORKLOAD.batch, WORKLOAD.imageChannels, WORKLOAD.resolution, WORKLOAD.resolution];
  const batch = { x: randomTensor(shape, 6), target: randomTensor(shape, 7, 0.5) };
  let loss = NaN;
  const t = await timeIt(async () => {
    loss = (await step.step(batch, 1e-4)).loss;
  }, options.timing);
  await step.dispose();
  return { gflops: gflops(workloadTrainFlops(), t.medianMs), medianMs: t.medianMs, loss };
}

/** What a training step must hold at its peak: parameters, AdamW moments and saved activations. */
export function trainingMemoryFloorMb(): { params: number; optimizer: number; activations: number } {
  const mb = (bytes: number): number => bytes / 2 ** 20;
  const shape = [WORKLOAD.batch, WORKLOAD.imageChannels, WORKLOAD.resolution, WORKLOAD.resolution];
  const spec = { shape, dtype: 'float32' as const };
  const { graph, outputs } = traceFunction((g, { x, target }) => {
    const loss = F.mean(F.square(F.sub(workloadForward(g, x!), target!)));
    grad(loss, [...g.params.values()]);
    return { loss };
  }, { x: spec, target: spec });
  const params = 4 * workloadParamCount();
  return { params: mb(params), optimizer: mb(2 * params), activations: mb(savedForBackwardBytes(graph, outputs.loss!)) };
}

export async function benchEngine(options: EngineBenchOptions = {}): Promise<EngineBenchResult> {
  const say = options.progress ?? (() => {});
  say('peak: large Conv and MatMul');
  const peak = await measurePeak(options);
  say('forward pass of the reference workload');
  const forward = await measureForward(options);
  say('training step');
  const train = await measureTrain(options);
  say('peak memory of the training step, in a process of its own');
  const memory = measureTrainingMemory();
  const peers: EngineBenchResult['peers'] = {};
  if (options.peers) {
    for (const [name, path] of [['tfjs', './peers/tfjs.js'], ['jax-js', './peers/jax.js']] as const) {
      say(`peer: ${name}`);
      try {
        const peer = (await import(path)) as { measure(o: object): Promise<PeerResult> };
        peers[name] = await peer.measure({});
      } catch (error) {
        peers[name] = { error: (error as Error).message };
      }
    }
  }
  say('peer: PyTorch');
  const torch = measureTorchPeer(options.torchPeer, options.threads ?? availableParallelism());
  return {
    peak_gflops: Math.max(peak.conv, peak.matmul),
    forward_gflops: forward.gflops,
    train_gflops: train.gflops,
    peers,
    torch,
    peak_rss_mb: memory.peak_rss_mb,
    details: {
      peak_conv_gflops: peak.conv,
      peak_matmul_gflops: peak.matmul,
      forward_ms: forward.medianMs,
      train_ms: train.medianMs,
      workload: { ...WORKLOAD, params: workloadParamCount(), forward_gflop: workloadForwardFlops() / 1e9, train_gflop: workloadTrainFlops() / 1e9 },
      memory_floor_mb: trainingMemoryFloorMb(),
      baseline_rss_mb: memory.baseline_rss_mb,
    },
  };
}
