// `hasten analyze redundancy`: which U-Net modules cost least to remove (A-SDM's first step), as a
// ranking table, a JSON record and a bar chart. With --out the rows are logged as they are measured,
// and --resume continues a run that was stopped.

import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defineCommand } from '../command.js';
import { flag, int, json, list, text, UsageError } from '../options.js';
import { outputFile } from '../output-file.js';
import { modelName, samplerName } from '../sampling.js';
import { REDUNDANCY_DEFAULTS, type RedundancyRow, type RedundancySettings, redundancy, redundancyChart } from '../../bench/redundancy.js';
import { requireUNet } from '../../compress/assemble.js';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { Progress } from '../progress.js';
import { loadTrainedModel } from '../../pipeline/model-store.js';

const ROWS_FILE = 'redundancy.jsonl';

/** The rows a stopped run logged, provided it ran with the same settings. */
function previousRows(path: string, header: string): RedundancyRow[] {
  if (!existsSync(path)) throw new UsageError(`--resume: no ${ROWS_FILE} in ${dirname(path)}`);
  const [first, ...rest] = readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '');
  if (first !== header) throw new UsageError(`--resume: ${path} was measured with other settings (${first}); resume with the same options or use another --out`);
  const rows: RedundancyRow[] = [];
  for (const line of rest) {
    try {
      rows.push(JSON.parse(line) as RedundancyRow);
    } catch {
      break; // a line cut short by a kill: measured again
    }
  }
  return rows;
}

const fixed = (value: number | undefined, digits = 4): string => (value === undefined ? '-' : value.toPrecision(digits));

export const analyzeRedundancyCommand = defineCommand({
  path: ['analyze', 'redundancy'],
  summary: 'remove each U-Net block and layer in turn (no retraining): damage against FLOPs and time saved',
  options: {
    model: modelName('model', { required: true, description: 'the model, a U-Net' }),
    modules: list('text', { placeholder: 'P,P,...', description: 'module paths to remove in turn (default: every removable one)' }),
    levels: list('number', { placeholder: 'S,S,...', above: 0, description: `noise levels of the one-step comparison on real images (default: ${REDUNDANCY_DEFAULTS.noiseLevels.join(',')})` }),
    'level-n': int({ placeholder: 'N', min: 2, default: REDUNDANCY_DEFAULTS.levelN, description: 'real images per noise level' }),
    sampler: samplerName('sampler of the end-result comparison', REDUNDANCY_DEFAULTS.sampler),
    steps: int({ placeholder: 'N', min: 1, default: REDUNDANCY_DEFAULTS.steps, description: 'its steps' }),
    n: int({ placeholder: 'N', min: 2, default: REDUNDANCY_DEFAULTS.n, description: 'samples of the end-result comparison (FD and accuracy at this n)' }),
    seed: int({ placeholder: 'S', min: 0, default: REDUNDANCY_DEFAULTS.seed, description: 'noise seed of both comparisons' }),
    'timing-batch': int({ placeholder: 'B', min: 1, default: REDUNDANCY_DEFAULTS.timingBatch, description: 'batch of the timed forward passes' }),
    repeats: int({ placeholder: 'N', min: 1, default: REDUNDANCY_DEFAULTS.timingRepeats, description: 'interleaved full/pruned timing pairs (median ratio)' }),
    out: text({ placeholder: 'DIR', description: `log rows to DIR/${ROWS_FILE} as they are measured; write redundancy.json and redundancy.svg there at the end` }),
    resume: flag({ description: 'continue the run logged in --out DIR (same options)' }),
    plot: outputFile(['.svg'], { description: 'write the ranking chart (SVG) here' }),
    json: json(),
  },
  details: 'Removal: a block bypassed (output = input, a decoder block then ignores its skip), a residual branch dropped (the shortcut stays), an attention layer dropped.\nrmse@S = RMSE of the denoised output against the full model on real images noised at level S; sample = RMSE of the end result from the same noise.\nRows are sorted by the end result\'s RMSE: the cheapest removals first. Wall speedup: median over interleaved pairs, one forward pass each.',
  async run(values) {
    const settings: RedundancySettings = {
      ...REDUNDANCY_DEFAULTS,
      ...(values.modules && { modules: values.modules }),
      ...(values.levels && { noiseLevels: values.levels }),
      levelN: values['level-n'],
      sampler: values.sampler,
      steps: values.steps,
      n: values.n,
      seed: values.seed,
      timingBatch: values['timing-batch'],
      timingRepeats: values.repeats,
    };
    const { out } = values;
    if (values.resume && out === undefined) throw new UsageError('--resume needs --out DIR, the run to continue');
    const trained = await loadTrainedModel(values.model);
    const header = JSON.stringify({ model: trained.name, saveId: trained.saveId, ...settings });
    const rowsPath = out && join(out, ROWS_FILE);
    const previous = rowsPath && values.resume ? previousRows(rowsPath, header) : [];
    if (out && rowsPath) {
      try {
        mkdirSync(out, { recursive: true });
        await writeFileAtomic(rowsPath, [header, ...previous.map((row) => JSON.stringify(row))].map((line) => `${line}\n`).join(''));
      } catch (error) {
        throw new UsageError(`--out: cannot write to '${out}': ${(error as Error).message}`);
      }
    }
    const unet = requireUNet(trained.model, `model '${trained.name}'`);
    const total = settings.modules?.length ?? unet.removableModules().filter((m) => !unet.config.removedModules.includes(m.path)).length;
    const progress = values.json ? undefined : new Progress({ label: 'redundancy', total, unit: 'module' }, previous.length);
    let result;
    try {
      result = await redundancy(trained, settings, {
        previous,
        onRow: (row, done) => {
          if (rowsPath) appendFileSync(rowsPath, `${JSON.stringify(row)}\n`);
          progress?.update(done, { module: row.path });
        },
      });
    } finally {
      progress?.finish();
    }
    const chart = redundancyChart(result);
    if (out) {
      writeFileSync(join(out, 'redundancy.json'), `${JSON.stringify(result, null, 2)}\n`);
      writeFileSync(join(out, 'redundancy.svg'), chart);
    }
    if (values.plot !== undefined) {
      try {
        writeFileSync(values.plot, chart);
      } catch (error) {
        throw new UsageError(`--plot: cannot write '${values.plot}': ${(error as Error).message}`);
      }
    }
    if (values.json) {
      console.log(JSON.stringify(result));
      return;
    }
    const { full } = result;
    console.log(`${result.model}: ${result.sampler}, ${result.steps} steps, n = ${result.n}; full model ${fixed(full.gflops)} GFLOPs, FD ${fixed(full.fd)} (floor ${fixed(full.fd_floor)}), accuracy ${fixed(full.accuracy)}`);
    const levels = result.noiseLevels.map((s) => `rmse@${s}`);
    const columns = ['module', 'how', 'FLOPs saved', 'speedup', ...levels, 'sample', 'FD', 'accuracy'];
    console.log(columns.map((c, i) => (i === 0 ? c.padEnd(16) : c.padStart(11))).join(' '));
    for (const row of result.rows) {
      const cells = [row.how, `${(100 * row.flops_saved).toFixed(1)}%`, `${row.wall_speedup.toFixed(2)}x`, ...row.rmse_by_level.map((v) => fixed(v, 3)), fixed(row.rmse_sample, 3), fixed(row.fd), fixed(row.accuracy, 3)];
      console.log([row.path.padEnd(16), ...cells.map((c) => c.padStart(11))].join(' '));
    }
  },
});
