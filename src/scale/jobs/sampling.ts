// What the sampling jobs (evaluation, sample grids) share: a model, a sampler and its settings, all
// of them plain JSON, and shards of samples generated with the per-sample RNG.

import { readFile } from 'node:fs/promises';
import { type AccelConfig, describeAccel } from '../../accel/config.js';
import { CompiledNetwork } from '../../pipeline/sampling-network.js';
import { checkpointFiles } from '../../engine/checkpoint.js';
import type { SamplerSettings } from '../../diffusion/samplers/index.js';
import { DEFAULT_GRIDS, type GenerateResult, type GuidanceInterval, generate } from '../../pipeline/generate.js';
import { type TrainedModel, loadTrainedModel } from '../../pipeline/model-store.js';
import { type ShardRange, checkShardSize, sha256Hex } from '../shard.js';

export interface SamplingSettings {
  model: string; // a shipped model name or a training output directory, as every worker sees it
  sampler: string;
  samplerSettings?: SamplerSettings; // e.g. { churn: 40 } for heun
  steps: number;
  grid?: string; // default: the objective's usual grid
  n: number; // samples of the whole job
  seed: number;
  batch: number; // samples per network call
  guidance: number;
  guidanceInterval?: GuidanceInterval;
  classes?: number[]; // class of each sample, cycled; default: all classes in turn
  accel?: AccelConfig;
  shardSize: number; // samples per shard: a multiple of batch
}

export const DEFAULT_SAMPLE_SHARD_SIZE = 256; // a few minutes of the shapes model on one core: queue overhead far below 1%

export interface SamplingContext {
  trained: TrainedModel;
  network: CompiledNetwork;
  settings: SamplingSettings;
}

/** sha256 of a checkpoint's weights: a retrained or different model gives another settings hash. */
export async function weightsDigest(location: string): Promise<string> {
  return sha256Hex(await readFile(checkpointFiles(location).weights));
}

export async function prepareSampling(settings: SamplingSettings): Promise<{ context: SamplingContext; identity: Record<string, unknown> }> {
  checkShardSize(settings.shardSize, Math.min(settings.batch, settings.n));
  const trained = await loadTrainedModel(settings.model);
  const accel = settings.accel ?? {};
  const network = new CompiledNetwork(trained.model, trained.params, accel, trained.name);
  const identity = {
    weights: await weightsDigest(trained.location),
    sampler: settings.sampler,
    samplerSettings: settings.samplerSettings ?? {},
    steps: settings.steps,
    grid: settings.grid ?? DEFAULT_GRIDS[trained.config.objective.name],
    seed: settings.seed,
    batch: Math.min(settings.batch, settings.n),
    guidance: settings.guidance,
    guidanceInterval: settings.guidanceInterval ?? null,
    classes: settings.classes ?? null,
    accel: describeAccel(accel),
  };
  return { context: { trained, network, settings }, identity };
}

/** Samples [first, first + count) exactly as a one-process run of all n draws them. */
export function sampleShard({ trained, network, settings }: SamplingContext, range: ShardRange, onItems: (done: number) => void): Promise<GenerateResult> {
  const { sampler, samplerSettings, steps, grid, seed, guidance, guidanceInterval, classes } = settings;
  return generate(trained, { sampler, samplerSettings, steps, grid, seed, guidance, guidanceInterval, classes, batch: Math.min(settings.batch, settings.n), first: range.first, n: range.count, network, onBatch: onItems });
}

/** The shards' nfe, FLOPs and sampling seconds, as artefact metadata. */
export const samplingExtra = (result: GenerateResult): Record<string, string> => ({ nfe: String(result.nfe), flops: String(result.flops), sampling_s: String(result.wallS) });

export function sumExtra(shards: { extra: Record<string, string> }[], key: string): number {
  return shards.reduce((total, shard) => total + Number(shard.extra[key]), 0);
}
