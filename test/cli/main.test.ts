import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { hasten } from './run-cli.js';

test('hasten --version prints the package version; a group word alone lists its commands', async () => {
  const version = await hasten('--version');
  assert.equal(version.code, 0);
  assert.deepEqual(version.out, [JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version]);
  for (const [group, members] of [['bench', ['bench samplers', 'bench engine']], ['reflow', ['reflow pairs', 'reflow train', 'reflow diagnose']], ['data', ['data preview']]] as const) {
    const listed = await hasten(group);
    assert.equal(listed.code, 0, group);
    for (const member of members) assert.match(listed.out[0]!, new RegExp(`\\n  ${member} `), `${group} lists ${member}`);
  }
  const unknown = await hasten('reflow', 'warp');
  assert.equal(unknown.code, 2);
});

test('sample --help gives the grid syntax and marks required options', async () => {
  const help = (await hasten('sample', '--help')).out.join('\n');
  assert.match(help, /--grid SPEC .*NAME\[:key=value\.\.\.\] with NAME one of uniform, .*karras\[:exponent=7\]/);
  assert.match(help, /--out FILE\.png .*required/);
});

test('every command accepts --json, as README promises', async () => {
  const { commands } = await import('../../src/cli/commands/index.js');
  const without = commands.filter((c) => c.options.json?.type !== 'boolean').map((c) => c.path.join(' '));
  assert.deepEqual(without, []);
});
