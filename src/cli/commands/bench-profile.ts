// `hasten bench profile TRACE.json`: where a graph's time went, by kind of work, from the per-op
// trace ONNX Runtime writes for any command run with HASTEN_ORT_PROFILE=PREFIX.

import { readFileSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { choice, int, json, UsageError } from '../options.js';
import { type TraceEvent, summarizeTrace } from '../../bench/op-profile.js';

export const benchProfileCommand = defineCommand({
  path: ['bench', 'profile'],
  summary: "sum ONNX Runtime's per-op trace of a graph by kind of work (conv forward / input / weight gradient, norms, element-wise, optimizer, copies)",
  positionals: true,
  options: {
    skip: int({ placeholder: 'N', min: 0, default: 1, description: 'warm-up runs of the graph to leave out' }),
    statistic: choice(['mean', 'median'], { placeholder: 'S', default: 'mean', description: "per node over the runs: mean, or median (leaves out runs stretched by waits for a core on a loaded machine)" }),
    json: json(),
  },
  details: 'Make a trace with e.g. `HASTEN_ORT_PROFILE=runs/prof hasten bench train --repeats 3`: every session writes runs/prof_<date>.json when it closes.',
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UsageError('give one trace file (written by a command run with HASTEN_ORT_PROFILE=PREFIX)');
    const path = positionals[0]!;
    let events: TraceEvent[];
    try {
      events = JSON.parse(readFileSync(path, 'utf8')) as TraceEvent[];
      if (!Array.isArray(events)) throw new Error('not a JSON array of trace events');
    } catch (error) {
      throw new UsageError(`${path}: ${(error as Error).message}`);
    }
    let profile;
    try {
      profile = summarizeTrace(events, values.skip, values.statistic);
    } catch (error) {
      throw new UsageError(`${path}: ${(error as Error).message}`);
    }
    if (values.json) {
      console.log(JSON.stringify(profile, null, 2));
      return;
    }
    console.log(`${profile.runs} runs: ${profile.run_ms.toFixed(1)} ms per run, ${profile.kernels_ms.toFixed(1)} ms in kernels, ${profile.outside_kernels_ms.toFixed(1)} ms outside them`);
    for (const k of profile.kinds) {
      const ops = Object.entries(k.top_ops).map(([op, ms]) => `${op} ${ms.toFixed(1)}`).join(', ');
      console.log(`${k.kind.padEnd(24)} ${k.ms_per_run.toFixed(1).padStart(8)} ms ${(100 * k.share).toFixed(1).padStart(5)}%  ${String(k.nodes_per_run).padStart(4)} nodes  ${ops}`);
    }
  },
});
