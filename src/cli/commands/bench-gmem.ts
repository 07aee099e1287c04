// `hasten bench gmem`: GMem's training-speed experiment read off the runs' EMA snapshots: FD and
// class accuracy against training images seen, one row per (run, snapshot, guidance).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from '../command.js';
import { choice, flag, int, json, list, text, UsageError } from '../options.js';
import { samplerName } from '../sampling.js';
import { type GmemRow, benchGmem, cachedGmemRows, gmemCharts } from '../../bench/gmem.js';
import { SNIPPET_SELECTIONS } from '../../gmem/bank.js';
import { EVALUATION_DEFAULTS } from '../../eval/evaluate.js';

export const benchGmemCommand = defineCommand({
  path: ['bench', 'gmem'],
  summary: 'FD and accuracy against training images for unconditional, class and memory-conditioned runs (GMem)',
  options: {
    run: text({ placeholder: 'NAME=DIR', repeatable: true, required: true, description: 'a run and its directory (with snapshots/), e.g. gmem=runs/gmem; repeat for each run' }),
    bank: text({ placeholder: 'NAME=DIR', repeatable: true, description: "sample run NAME with the memory bank in DIR instead of its own (a compressed bank's switch row); repeatable" }),
    n: int({ placeholder: 'N', min: 2, default: 1000, description: 'samples per intermediate snapshot' }),
    'final-n': int({ placeholder: 'N', min: 2, default: 2000, description: "samples at each run's last snapshot" }),
    sampler: samplerName('sampler', 'heun'),
    steps: int({ placeholder: 'N', min: 1, default: 8, description: 'sampler steps' }),
    guidance: list('number', { placeholder: 'W,...', default: [1, 1.5, 2, 3], description: 'guidance weights of class runs (and memory runs with --memory-guidance); 1 is unguided' }),
    'guided-steps': int({ placeholder: 'N', min: 1, description: 'sampler steps of guided rows (default --steps; half of --steps compares at equal NFE)' }),
    'guided-last': flag({ description: "guided rows only at each run's last snapshot" }),
    'memory-guidance': flag({ description: 'also guide memory runs, against the zero snippet' }),
    'snippet-select': choice(SNIPPET_SELECTIONS, { placeholder: 'HOW', default: 'uniform', description: 'how memory runs draw snippets' }),
    seed: int({ placeholder: 'S', min: 0, default: 0, description: 'noise seed (real sets from seed + 1,000,003)' }),
    batch: int({ placeholder: 'B', min: 1, default: 100, description: 'samples per network call' }),
    'real-sets': int({ placeholder: 'K', min: 2, default: EVALUATION_DEFAULTS.realSets, description: 'independent real sets behind fd, fd_std and fd_floor (as hasten eval)' }),
    'out-of-bank': int({ placeholder: 'N', min: 1, description: "memory runs: at the last snapshot, one sample from each of N images outside the bank, scored against its source image's class" }),
    plot: text({ placeholder: 'DIR', description: 'write gmem-fd.svg and gmem-accuracy.svg (curves against training images) into DIR' }),
    cache: text({ placeholder: 'FILE.jsonl', description: 'rows already measured: read, and new rows appended (the benchmark resumes)' }),
    cached: flag({ description: 'report the runs\' rows from --cache alone, loading no snapshot (runs whose directories are gone: --run NAME without =DIR)' }),
    json: json(),
  },
  details: 'Example: hasten bench gmem --run unconditional=runs/gmem-exp/unconditional --run class=runs/gmem-exp/class --run gmem=runs/gmem-exp/gmem --cache docs/results/gmem-rows.jsonl --json',
  async run(values) {
    if (values.cached && !values.cache) throw new UsageError('--cached reads the rows from --cache FILE.jsonl: give it');
    if (values.cached && values['out-of-bank']) throw new UsageError('--out-of-bank samples the last snapshots: drop --cached');
    if (values.cached && (values.bank?.length ?? 0) > 0) throw new UsageError('--bank samples the runs: drop --cached (a switch row is reported under its own run name)');
    const pair = (option: string, spec: string): { name: string; dir: string } => {
      if (values.cached && option === 'run' && !spec.includes('=')) return { name: spec, dir: '' };
      const at = spec.indexOf('=');
      if (at <= 0 || at === spec.length - 1) throw new UsageError(`--${option} expects NAME=DIR, got '${spec}'`);
      return { name: spec.slice(0, at), dir: spec.slice(at + 1) };
    };
    const banks = new Map((values.bank ?? []).map((spec) => pair('bank', spec)).map(({ name, dir }) => [name, dir]));
    const runs = values.run.map((spec) => {
      const run = pair('run', spec);
      return { ...run, bank: banks.get(run.name) };
    });
    for (const name of banks.keys()) if (!runs.some((run) => run.name === name)) throw new UsageError(`--bank names run '${name}', which no --run gives`);
    const settings = {
      runs, n: values.n, finalN: values['final-n'], sampler: values.sampler, steps: values.steps, guidance: values.guidance,
      guidedSteps: values['guided-steps'], guidedLast: values['guided-last'],
      memoryGuidance: values['memory-guidance'], select: values['snippet-select'], seed: values.seed, batch: values.batch, realSets: values['real-sets'], outOfBank: values['out-of-bank'], cache: values.cache,
      onRow: (row: GmemRow) => {
        if (!values.json) console.log(`${row.run.padEnd(16)} images ${String(row.images).padStart(9)}  fd ${row.fd.toFixed(3)} ± ${row.fd_std.toFixed(3)} (floor ${row.fd_floor.toFixed(3)})  accuracy ${row.accuracy === null ? '-' : (100 * row.accuracy).toFixed(1) + '%'}  guidance ${row.guidance}  nfe ${row.nfe}`);
      },
    };
    let result: Awaited<ReturnType<typeof benchGmem>>;
    if (values.cached) {
      result = { rows: cachedGmemRows(settings) };
      result.rows.forEach(settings.onRow);
    } else result = await benchGmem(settings);
    if (values.plot) {
      const charts = gmemCharts(result.rows);
      try {
        mkdirSync(values.plot, { recursive: true });
        writeFileSync(join(values.plot, 'gmem-fd.svg'), charts.fd);
        writeFileSync(join(values.plot, 'gmem-accuracy.svg'), charts.accuracy);
      } catch (error) {
        throw new UsageError(`cannot write --plot charts into '${values.plot}': ${(error as Error).message}`);
      }
    }
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else for (const r of result.out_of_bank ?? []) console.log(`${r.run.padEnd(16)} step ${r.step}: ${r.n} images outside the bank -> samples of their class ${(100 * r.accuracy).toFixed(1)}%`);
  },
});
