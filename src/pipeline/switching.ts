// Multi-U-Net switching (A-SDM): one sampler run, several networks, each owning a range of noise
// levels. The main model runs wherever no switch claims the level; the first matching switch wins.
// Spec syntax, one switch: MODEL@sigma>A, MODEL@sigma<B or MODEL@A<sigma<B, with sigma the EDM
// noise level sigma/alpha of the call and the bounds exclusive; several switches are comma-separated.

import { InputError } from '../engine/input-error.js';
import type { CompiledNetwork } from './sampling-network.js';
import type { TrainedModel } from './model-store.js';
import type { NetForward } from './generate.js';
import { noiseLevel } from '../train/objectives.js';
import { sameShape } from '../engine/host-tensor.js';

/** Noise levels sigma/alpha strictly between low and high (either may be open: 0 or Infinity). */
export interface NoiseRange {
  low: number;
  high: number;
}

export interface SwitchSpec extends NoiseRange {
  model: string; // a shipped model name or a path, as --model takes
}

export interface Switch extends NoiseRange {
  model: TrainedModel;
  network?: CompiledNetwork; // an already compiled network of this model (kept open after the run); default: compiled per run
}

export class SwitchSpecError extends InputError {
  override name = 'SwitchSpecError';
}

const NUMBER = '([0-9]*\\.?[0-9]+(?:e[-+]?[0-9]+)?)';
const FORMS: [RegExp, (m: RegExpMatchArray) => NoiseRange][] = [
  [new RegExp(`^sigma>${NUMBER}$`, 'i'), (m) => ({ low: Number(m[1]), high: Infinity })],
  [new RegExp(`^sigma<${NUMBER}$`, 'i'), (m) => ({ low: 0, high: Number(m[1]) })],
  [new RegExp(`^${NUMBER}<sigma<${NUMBER}$`, 'i'), (m) => ({ low: Number(m[1]), high: Number(m[2]) })],
];

/** One switch, e.g. 'student@sigma>2'. */
export function parseSwitch(spec: string): SwitchSpec {
  const at = spec.lastIndexOf('@');
  const model = spec.slice(0, at).trim();
  const condition = spec.slice(at + 1).replace(/\s+/g, '');
  const form = at > 0 ? FORMS.find(([pattern]) => pattern.test(condition)) : undefined;
  if (!form || model === '') throw new SwitchSpecError(`switch '${spec}': expected MODEL@sigma>A, MODEL@sigma<B or MODEL@A<sigma<B (e.g. student@sigma>2)`);
  const range = form[1](condition.match(form[0])!);
  if (!(range.low < range.high)) throw new SwitchSpecError(`switch '${spec}': the range ${range.low} < sigma < ${range.high} is empty`);
  return { model, ...range };
}

/** Comma-separated switches. */
export function parseSwitches(spec: string): SwitchSpec[] {
  const items = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new SwitchSpecError('no switch given: expected e.g. student@sigma>2');
  return items.map(parseSwitch);
}

export const inRange = (range: NoiseRange, level: number): boolean => level > range.low && level < range.high;

export function describeSwitch(s: { model: string | TrainedModel } & NoiseRange): string {
  const name = typeof s.model === 'string' ? s.model : s.model.name;
  if (s.high === Infinity) return `${name}@sigma>${s.low}`;
  if (s.low === 0) return `${name}@sigma<${s.high}`;
  return `${name}@${s.low}<sigma<${s.high}`;
}

/** A switched model must take the main model's inputs and give outputs the same sampler can use. */
export function checkSwitchable(main: TrainedModel, other: TrainedModel): void {
  const fail = (what: string): never => {
    throw new SwitchSpecError(`cannot switch between '${main.name}' and '${other.name}': ${what}`);
  };
  if (!sameShape(main.config.dataShape, other.config.dataShape)) fail(`samples of ${main.config.dataShape.join('x')} against ${other.config.dataShape.join('x')}`);
  const a = main.config.objective;
  const b = other.config.objective;
  if ((a.network ?? a.name) !== (b.network ?? b.name) || a.name !== b.name || a.sigmaData !== b.sigmaData) fail(`objective ${a.name} against ${b.name}`);
  if (main.model.config.numClasses !== other.model.config.numClasses) fail(`${main.model.config.numClasses} classes against ${other.model.config.numClasses}`);
  if (main.model.config.captionTokens !== other.model.config.captionTokens) fail('different caption conditioning');
}

/** The forward pass of a switching run: each call goes to the first switch whose range holds its noise level, else to `main`. */
export function switchingForward(main: NetForward, switches: readonly (NoiseRange & { forward: NetForward })[]): NetForward {
  return (feeds, call) => {
    const level = noiseLevel(feeds.noise!.data[0] as number);
    const chosen = switches.find((s) => inRange(s, level));
    return (chosen?.forward ?? main)(feeds, call);
  };
}
