// Which sampler steps compute in full ("key" steps) and which reuse cached features. Patterns are
// defined on step indices (0 = first, noisiest step), never on timestep values, which repeat inside
// Heun-type steps. Step 0 is always a key step: nothing is cached before it.
//   every:K       steps 0, K, 2K, ...
//   dense-early   Faster Diffusion's 50-step DDIM pattern {0, 1, 2, 3, 5, 10, 15, 25, 35}, rescaled
//   ends:K        dense in the first and last 10% of the steps, every K-th step in between
//   LIST          explicit step indices, e.g. 0/1/2/5/10

import { AccelSettingError } from './errors.js';

export type StepPattern =
  | { kind: 'every'; k: number }
  | { kind: 'dense-early' }
  | { kind: 'ends'; k: number }
  | { kind: 'list'; steps: number[] };

/** Faster Diffusion's key steps for 50-step DDIM (their "50ls"), as fractions of the trajectory when rescaled. */
const DENSE_EARLY_50 = [0, 1, 2, 3, 5, 10, 15, 25, 35];
/** Share of the steps at each end that `ends` computes in full. */
const ENDS_SHARE = 0.1;

function positiveInteger(what: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new AccelSettingError(`${what} must be an integer >= 1, got '${text}'`);
  return value;
}

/** Parses every:K, dense-early, ends[:K] or a '/'-separated list of step indices. */
export function parseStepPattern(text: string): StepPattern {
  const spec = text.trim();
  if (spec === 'dense-early') return { kind: 'dense-early' };
  const [name, argument] = spec.split(':', 2) as [string, string | undefined];
  if (name === 'every') {
    if (argument === undefined) throw new AccelSettingError(`step pattern 'every' needs a period, e.g. every:3`);
    return { kind: 'every', k: positiveInteger('the period of every:K', argument) };
  }
  if (name === 'ends') return { kind: 'ends', k: argument === undefined ? 3 : positiveInteger('the period of ends:K', argument) };
  if (/^\d+(\/\d+)*$/.test(spec)) {
    const steps = [...new Set(spec.split('/').map(Number))].sort((a, b) => a - b);
    return { kind: 'list', steps };
  }
  throw new AccelSettingError(`unknown step pattern '${text}' (use every:K, dense-early, ends:K or a list like 0/1/2/5)`);
}

export function describeStepPattern(pattern: StepPattern): string {
  switch (pattern.kind) {
    case 'every': return `every:${pattern.k}`;
    case 'dense-early': return 'dense-early';
    case 'ends': return `ends:${pattern.k}`;
    case 'list': return pattern.steps.join('/');
  }
}

/** key[i] says whether step i of `steps` computes in full. */
export function keySteps(pattern: StepPattern, steps: number): boolean[] {
  if (!Number.isInteger(steps) || steps < 1) throw new AccelSettingError(`a step pattern needs a step count >= 1, got ${steps}`);
  const key = new Array<boolean>(steps).fill(false);
  const mark = (i: number): void => {
    if (i >= 0 && i < steps) key[i] = true;
  };
  switch (pattern.kind) {
    case 'every':
      for (let i = 0; i < steps; i += pattern.k) mark(i);
      break;
    case 'dense-early':
      for (const i of DENSE_EARLY_50) mark(Math.round((i * steps) / 50));
      break;
    case 'ends': {
      const edge = Math.max(1, Math.ceil(ENDS_SHARE * steps));
      for (let i = 0; i < steps; i++) if (i < edge || i >= steps - edge || i % pattern.k === 0) mark(i);
      break;
    }
    case 'list': {
      const beyond = pattern.steps.filter((i) => i >= steps);
      if (beyond.length > 0) throw new AccelSettingError(`key step(s) ${beyond.join(', ')} lie beyond the last step ${steps - 1}`);
      for (const i of pattern.steps) mark(i);
      break;
    }
  }
  key[0] = true;
  return key;
}
