import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commands } from '../../src/cli/commands/index.js';
import type { TextOption } from '../../src/cli/options.js';
import { ModelNotFound } from '../../src/pipeline/model-store.js';
import { hasten } from './run-cli.js';

const MODEL_ROLES = ['model', 'teacher', 'student', 'init'];

test('every option that names a model resolves it by one rule, when the command line is read', () => {
  let checked = 0;
  for (const command of commands) {
    for (const [name, spec] of Object.entries(command.options)) {
      if (!MODEL_ROLES.includes(name)) continue;
      const where = `hasten ${command.path.join(' ')} --${name}`;
      assert.equal(spec.type, 'text', `${where} names a model, as in every command`);
      const option = spec as TextOption<unknown>;
      assert.ok(option.parse, `${where} checks its model`);
      assert.throws(() => option.parse!('no-such-model'), (e: Error) => e instanceof ModelNotFound && /'no-such-model'/.test(e.message), where);
      assert.deepEqual([...(option.misnamed ?? [])].sort(), MODEL_ROLES.filter((r) => r !== name).sort(), `${where}: the other role names point to it`);
      checked++;
    }
  }
  assert.ok(checked >= 15, `${checked} model options`);
});

test('a model given under another role name, or not found, is one error naming the option to use', async () => {
  const cases: [string[], RegExp][] = [
    [['reflow', 'pairs', '--model', 'toy2d', '--n', '8', '--out', 'o'], /^Unknown option '--model' \(did you mean --teacher NAME\|PATH\?\)/],
    [['compress', '--model', 'shapes', '--out', 'o'], /\(did you mean --teacher NAME\|PATH\?\)/],
    [['bench', 'compress', '--model', 'shapes'], /\(did you mean --teacher NAME\|PATH or --student NAME\|PATH\?\)/],
    [['bench', 'reflow', '--model', 'toy2d'], /\(did you mean --teacher NAME\|PATH\?\)/],
    [['eval', '--teacher', 'toy2d'], /\(did you mean --model NAME\|PATH\?\)/],
    [['reflow', 'train', '--model', 'toy2d', '--pairs', 'p', '--out', 'o'], /\(did you mean --init NAME\|PATH\?\)/],
    // What is not a model has its own name; the old spellings say which.
    [['train', '--data', 'shapes', '--model', 'dit', '--out', 'o'], /^--model was renamed: use --arch ARCH \(unet, dit, mlp\) for the architecture; --model names a trained model/],
    [['train', '--data', 'shapes', '--model-config', '{}', '--out', 'o'], /^--model-config was renamed: use --arch-config JSON/],
    [['compress', '--teacher', 'shapes', '--init', 'neighbour', '--out', 'o'], /^--init was renamed: use --student-init HOW \(teacher, neighbour\)/],
    // The teacher is checked before the run starts (this used to fail later, or first on --n).
    [['reflow', 'pairs', '--teacher', 'no-such-model', '--out', 'o'], /^--teacher: no model 'no-such-model': not a shipped model/],
    [['bench', 'compress', '--teacher', 'shapes', '--student', 'no-such-model'], /^--student: no model 'no-such-model'/],
    [['sample', '--model', 'toy2d', '--switch', 'no-such-model@sigma>1', '--out', 'o.png'], /^--switch: no model 'no-such-model'/],
  ];
  for (const [argv, expected] of cases) {
    const { code, err } = await hasten(...argv);
    assert.equal(code, 2, argv.join(' '));
    assert.equal(err.length, 1, argv.join(' '));
    assert.match(err[0]!.replace(/^hasten [a-z ]+: /, ''), expected, argv.join(' '));
  }
});

test('an imported model folder is refused by name where only hasten models are taken, and only it where imported ones are', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hasten-imported-'));
  try {
    writeFileSync(join(dir, 'import.json'), '{}');
    const evaluated = await hasten('reflow', 'diagnose', '--model', dir);
    assert.equal(evaluated.code, 2);
    assert.match(evaluated.err[0]!, /--model: '.*' is a model imported by hasten import; this command takes hasten's own models/);
    const inspected = await hasten('inspect', '--model', 'toy2d');
    assert.equal(inspected.code, 2);
    assert.match(inspected.err[0]!, /--model: 'toy2d' is not a model folder written by hasten import/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
