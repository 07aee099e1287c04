// What import finds out about a U-Net once, so that sampling never probes again: the structure,
// the per-sample shape of every tensor a cut takes, the FLOPs of the encoder, middle and decoder and
// of each cut graph, and whether every cut composes back to the full graph on a probe input.

import type { OnnxModel } from '../engine/onnx/codec.js';
import { flopsOf } from './flops.js';
import { GraphFiles } from './graph-files.js';
import { GraphIndex } from './graph-index.js';
import { ImportError } from './onnx-file.js';
import { probeFeeds, probeShapes } from './probe.js';
import type { UNetSignature } from './signature.js';
import { type UNetStructure, detectStructure } from './structure.js';
import { addOutputs, cutGraph, skipsOutermostFirst } from './surgery.js';

export interface PartFlops {
  encoder: number;
  middle: number;
  decoder: number;
  total: number;
}

export interface UNetAnalysis {
  structure: UNetStructure;
  /** Shape after the batch axis of every tensor a cut graph takes. */
  shapes: Record<string, number[]>;
  /** FLOPs per sample; nodes both halves need (the timestep embedding) count as decoder, which runs them at every step. */
  flops: PartFlops;
  /** FLOPs per sample of the graphs that reuse cached features. */
  cut_flops: { encoder_propagation: number; deepcache: number[] };
}

/** The tensors each caching method keeps: encoder propagation every skip and the decoder input; DeepCache the deep decoder state feeding branch b. */
export function cachedTensors(structure: UNetStructure, method: 'encoder-propagation' | 'deepcache', branch = 0): string[] {
  if (method === 'encoder-propagation') return [...new Set([...structure.skips.map((s) => s.skip_operand), structure.boundary.decoder_input])];
  const skips = skipsOutermostFirst(structure);
  if (branch >= skips.length) throw new ImportError(`--deepcache: branch must be a skip index in 0..${skips.length - 1}, got ${branch}`);
  return [skips[branch]!.hidden_operand];
}

/** `inlineLimit`: weight bytes above which the graphs run go to ONNX Runtime with external data (see graph-files.ts). */
export async function analyseUNet(model: OnnxModel, signature: UNetSignature, inlineLimit?: number): Promise<UNetAnalysis> {
  const files = new GraphFiles(inlineLimit);
  try {
    return await analyseWith(model, signature, files);
  } finally {
    files.dispose();
  }
}

async function analyseWith(model: OnnxModel, signature: UNetSignature, files: GraphFiles): Promise<UNetAnalysis> {
  // One row where the batch is free; a fixed-batch graph runs at its batch, and FLOPs are divided by it.
  const rows = signature.batch === 'dynamic' ? 1 : signature.batch;
  const probed = await probeShapes(model, signature, files, rows);
  const structure = detectStructure(model, signature, probed);
  const index = new GraphIndex(model.graph);
  const output = [signature.output];
  const all = index.neededNodes(output);
  const cutSets = [cachedTensors(structure, 'encoder-propagation'), ...structure.skips.map((_, b) => cachedTensors(structure, 'deepcache', b))];
  const decoder = new Set(index.neededNodes(output, new Set(cutSets[0])));
  const encoder = new Set(index.neededNodes(structure.skips.map((s) => s.skip_operand)).filter((i) => !decoder.has(i)));
  const middle = all.filter((i) => !decoder.has(i) && !encoder.has(i));
  const perSample = (nodes: number[]) => flopsOf(index, nodes, probed) / rows;
  const flops: PartFlops = { encoder: perSample([...encoder]), middle: perSample(middle), decoder: perSample([...decoder]), total: perSample(all) };
  const cutFlops = cutSets.map((given) => perSample(index.neededNodes(output, new Set(given))));
  const shapes = Object.fromEntries(cutSets.flat().map((t) => [t, probed.get(t)!.slice(1)]));
  const analysis: UNetAnalysis = { structure, shapes, flops, cut_flops: { encoder_propagation: cutFlops[0]!, deepcache: cutFlops.slice(1) } };
  await verifyCuts(model, signature, analysis, cutSets, files);
  return analysis;
}

/**
 * Runs every cut against the full graph on a probe input (two rows, two timesteps): the reused
 * features fed back must give the full graph's output exactly. A cut that does not is refused.
 */
async function verifyCuts(model: OnnxModel, signature: UNetSignature, analysis: UNetAnalysis, cutSets: string[][], files: GraphFiles): Promise<void> {
  const feeds = probeFeeds(signature, signature.batch === 'dynamic' ? 2 : signature.batch, 700);
  const batch = signature.batch === 'dynamic' ? 'batch' : signature.batch;
  const shapes = new Map(Object.entries(analysis.shapes).map(([name, s]) => [name, [1, ...s]]));
  const cached = [...new Set(cutSets.flat())];
  const full = await files.session(addOutputs(model, cached, shapes, batch), { spin: false });
  try {
    const reference = await full.run(feeds);
    for (const given of cutSets) {
      const cut = await files.session(cutGraph(model, given, shapes, batch), { spin: false });
      try {
        const inputs = Object.fromEntries(cut.inputNames.map((name) => [name, feeds[name] ?? reference[name]!]));
        const out = (await cut.run(inputs))[signature.output]!.data as Float32Array;
        const expected = reference[signature.output]!.data as Float32Array;
        const worst = out.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
        if (worst !== 0) throw new ImportError(`the graph cut at ${given.join(', ')} does not reproduce the full graph (max difference ${worst}); not cut`);
      } finally {
        await cut.dispose();
      }
    }
  } finally {
    await full.dispose();
  }
}
