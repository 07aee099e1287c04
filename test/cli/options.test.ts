import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../src/engine/input-error.js';
import { choice, flag, int, json, list, num, optionsHelp, parseOptions, text, UsageError } from '../../src/cli/options.js';

const specs = {
  model: text({ placeholder: 'NAME|PATH', required: true, description: 'the model' }),
  steps: int({ placeholder: 'N', min: 1, default: 18, description: 'steps' }),
  scale: num({ placeholder: 'S', above: 0, description: 'a factor' }),
  mode: choice(['fast', 'exact'], { placeholder: 'KIND', default: 'fast', description: 'how' }),
  nfe: list('int', { placeholder: 'N,N', min: 1, default: [5, 10], description: 'NFEs' }),
  config: text({ repeatable: true, parse: (raw: string) => { if (raw === 'bad') throw new InputError('no such config'); return raw.length; }, description: 'configs' }),
  dry: flag({ description: 'dry run' }),
  json: json(),
};

const parse = (...argv: string[]) => parseOptions(specs, argv, 'demo').values;

test('options: typed values, defaults, and both --name value and --name=value', () => {
  const values = parse('--model', 'shapes', '--steps=7', '--scale', '0.5', '--mode', 'exact', '--nfe', '3, 4', '--dry');
  assert.deepEqual(values, { model: 'shapes', steps: 7, scale: 0.5, mode: 'exact', nfe: [3, 4], dry: true, json: false });
  const defaults = parse('--model', 'm');
  assert.equal(defaults.steps, 18);
  assert.deepEqual(defaults.nfe, [5, 10]);
  assert.equal(defaults.scale, undefined);
  assert.equal(defaults.dry, false);
});

test('options: a value may start with a dash, and is then checked against the bounds', () => {
  assert.throws(() => parse('--model', 'm', '--steps', '-3'), (e: Error) => e instanceof UsageError && e.message === "--steps expects an integer >= 1, got '-3'");
  assert.throws(() => parse('--model', 'm', '--scale', '-1'), /--scale expects a number > 0, got '-1'/);
  assert.equal(parse('--model', '-odd-name').model, '-odd-name');
});

test('options: every kind of bad input is a UsageError naming the flag', () => {
  const cases: [string[], RegExp][] = [
    [[], /^--model NAME\|PATH is required$/],
    [['--model', 'm', '--steps', '2.5'], /--steps expects an integer >= 1, got '2.5'/],
    [['--model', 'm', '--steps', ''], /--steps expects an integer >= 1, got ''/],
    [['--model', 'm', '--mode', 'slow'], /--mode must be one of fast, exact, got 'slow'/],
    [['--model', 'm', '--nfe', '3,x'], /--nfe expects an integer >= 1, got 'x'/],
    [['--model', 'm', '--nfe', '3,0'], /--nfe: values must be >= 1, got '0'/],
    [['--model', 'm', '--nfe', ','], /--nfe expects a comma-separated list of integers/],
    [['--model', 'm', '--config', 'bad'], /^--config: no such config$/],
    [['--model', 'm', '--speed', 'fast'], /Unknown option '--speed'/],
    [['--model', 'm', '--dry=yes'], /--dry is a flag and takes no value/],
    [['--model'], /--model NAME\|PATH: the value is missing/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parse(...argv), (e: Error) => e instanceof UsageError && message.test(e.message), argv.join(' '));
});

test('options: repeatable options collect, others given twice are an error; positionals after --; what was given', () => {
  const { values, positionals, given } = parseOptions(specs, ['--model', 'a', '--config', 'xy', '--config', 'xyz', 'word', '--', '--steps'], 'demo');
  assert.equal(values.model, 'a');
  assert.deepEqual(values.config, [2, 3]);
  assert.deepEqual(positionals, ['word', '--steps']);
  assert.deepEqual([...given].sort(), ['config', 'model'], 'defaulted options are not given');
  assert.throws(() => parseOptions(specs, ['--model', 'a', '--model', 'b'], 'demo'), (e: Error) => e instanceof UsageError && e.message === "--model is given twice ('a' and 'b'): give it once");
});

test('options: --help is generated from the declarations', () => {
  const help = optionsHelp(specs, 'demo').join('\n');
  assert.match(help, /^Usage: hasten demo --model NAME\|PATH \[options\]/);
  assert.match(help, /--model NAME\|PATH +the model \(required\)/);
  assert.match(help, /--steps N +steps \(>= 1; default: 18\)/);
  assert.match(help, /--mode KIND +how \(one of: fast, exact; default: fast\)/);
  assert.match(help, /--nfe N,N +NFEs \(each >= 1; default: 5,10\)/);
  assert.match(help, /--config VALUE +configs \(repeatable\)/);
  assert.match(help, /--help +show this help/);
});
