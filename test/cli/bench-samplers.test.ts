import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const directory = mkdtempSync(join(tmpdir(), 'hasten-bench-'));
const problem = join(directory, 'tiny.json');
writeFileSync(problem, JSON.stringify({ dim: 2, weights: [0.7, 0.3], means: [[1, 0], [-1, 0.5]], stds: [0.3, 0.5] }));

function hasten(...args: string[]) {
  return spawnSync(process.execPath, [main, 'bench', 'samplers', ...args], { encoding: 'utf8' });
}

describe('hasten bench samplers', () => {
  it('turns bad arguments into one-line usage errors (exit code 2)', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--samplers', 'ddim,nope'], /unknown sampler 'nope' \(known: ddim, euler,/],
      [['--n', 'abc'], /--n expects an integer >= 2, got 'abc'/],
      [['--nfe', '3,x'], /--nfe expects an integer >= 1, got 'x'/],
      [['--seed=-1'], /--seed expects an integer >= 0, got '-1'/],
      [['--problem', join(directory, 'missing.json')], /cannot read problem file/],
      [['--grid', 'cosine'], /unknown grid 'cosine'/],
      [['--process', 'vq'], /unknown process 'vq'/],
      [['--grid', 'logsnr:tmin=0'], /logsnr grid needs tMin > 0/],
      [['--plot', join(directory, 'no-such-directory', 'chart.svg')], /--plot: .* the folder .*no-such-directory does not exist/],
      [['--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, pattern] of cases) {
      const { status, stderr, stdout } = hasten(...(args.includes('--problem') ? [] : ['--problem', problem]), ...args);
      assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, pattern);
      assert.equal(stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${stderr}`);
      assert.equal(stdout, '');
    }
  });

  it('prints --json in the documented shape and writes the --plot chart', () => {
    const plot = join(directory, 'chart.svg');
    const { status, stdout, stderr } = hasten('--problem', problem, '--samplers', 'ddim,heun', '--nfe', '2,4,8', '--n', '20', '--json', '--plot', plot);
    assert.equal(status, 0, stderr);
    const output = JSON.parse(stdout) as { results: Array<Record<string, unknown>>; swd_floor: number; orders: Record<string, number> };
    assert.deepEqual(Object.keys(output), ['results', 'swd_floor', 'orders']);
    assert.deepEqual(output.results.map((r) => [r.sampler, r.nfe]), [['ddim', 2], ['ddim', 4], ['ddim', 8], ['heun', 1], ['heun', 3], ['heun', 7]]);
    for (const row of output.results) {
      assert.deepEqual(Object.keys(row), ['sampler', 'nfe', 'err', 'rmse', 'swd']);
      for (const key of ['err', 'rmse', 'swd']) assert.ok(typeof row[key] === 'number' && (row[key] as number) >= 0);
    }
    assert.ok(output.swd_floor > 0);
    assert.deepEqual(Object.keys(output.orders), ['ddim', 'heun']);
    for (const order of Object.values(output.orders)) assert.ok(Number.isFinite(order));
    assert.match(stderr, /reference solution/);
    const svg = readFileSync(plot, 'utf8');
    assert.match(svg, /<svg/);
    assert.match(svg, />heun</);
  });

  it('prints markdown tables by default and documents itself in --help', () => {
    const { status, stdout } = hasten('--problem', problem, '--samplers', 'deis-tab2', '--nfe', '3,6', '--n', '10');
    assert.equal(status, 0);
    assert.match(stdout, /\| deis-tab2 \| [0-9.e+-]+ \| [0-9.e+-]+ \| -?[0-9.]+ \|/);
    assert.match(stdout, /swd_floor/);
    const help = hasten('--help');
    assert.equal(help.status, 0);
    for (const flag of ['--problem', '--process', '--grid', '--samplers', '--nfe', '--n', '--seed', '--json', '--plot']) assert.match(help.stdout, new RegExp(`${flag}\\b`));
  });
});
