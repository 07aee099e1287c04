// Skip-Tuning (Ma et al., ICML 2024): scale the U-Net's long skips by factors below 1 before the decoder
// concatenates them, so both the normalised path and the residual 1x1 path of the decoder block see
// the scaling (the U-Net's skipScale input). The factors are runtime inputs of the compiled graph,
// so sweeping the factor never recompiles. (The factor was once called rho, which names the noise
// level sigma/alpha everywhere else; the old spelling is refused by name.)
//
// Settings (--skip-tuning): a bare number is one constant factor; otherwise comma-separated key=value:
//   factor=R             one factor for every skip
//   inner=A,outer=B      linear over the skips from the innermost (A) to the outermost (B); which
//                        end the paper's "bottom" is cannot be verified, so both are explicit
//   time=decreasing      the attenuation fades along the trajectory: the factors above at the first
//                        (noisiest) step, 1 at the last (the paper's choice for EDM, x-prediction)
//   time=increasing      1 at the first step, the factors above at the last (its choice for eps-prediction)
//   sigma=LO:HI          active only where the call's noise level sigma/alpha lies in [LO, HI]

import { AccelSettingError } from './errors.js';

export interface SkipTuning {
  inner: number; // factor of the innermost skip (next to the middle)
  outer: number; // factor of the outermost skip (the input conv)
  time: 'constant' | 'decreasing' | 'increasing'; // how the attenuation varies over the steps
  sigmaWindow?: [number, number]; // noise levels where it applies; everywhere when absent
}

function factor(key: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new AccelSettingError(`--skip-tuning: ${key} must be a number > 0, got '${text}'`);
  return value;
}

export function parseSkipTuning(text: string): SkipTuning {
  const spec = text.trim();
  if (spec !== '' && Number.isFinite(Number(spec))) {
    const value = factor('factor', spec);
    return { inner: value, outer: value, time: 'constant' };
  }
  const settings = new Map<string, string>();
  for (const part of spec.split(',')) {
    const [key, value] = part.split('=', 2).map((s) => s.trim());
    if (!key || value === undefined) throw new AccelSettingError(`--skip-tuning: expected key=value, got '${part}' (e.g. 0.8 or inner=0.5,outer=1)`);
    if (settings.has(key)) throw new AccelSettingError(`--skip-tuning: '${key}' is given twice`);
    settings.set(key, value);
  }
  if (settings.has('rho')) throw new AccelSettingError(`--skip-tuning: the skip factor is called 'factor' (e.g. factor=${settings.get('rho')}); rho names the noise level sigma/alpha`);
  const known = ['factor', 'inner', 'outer', 'time', 'sigma'];
  const unknown = [...settings.keys()].filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new AccelSettingError(`--skip-tuning: unknown setting '${unknown[0]}' (settings: ${known.join(', ')})`);
  const single = settings.get('factor');
  const inner = settings.get('inner');
  const outer = settings.get('outer');
  if (single !== undefined && (inner !== undefined || outer !== undefined)) throw new AccelSettingError('--skip-tuning: give either factor or inner/outer, not both');
  if (single === undefined && inner === undefined && outer === undefined) throw new AccelSettingError('--skip-tuning: give factor, or inner and outer');
  const time = settings.get('time') ?? 'constant';
  if (time !== 'constant' && time !== 'decreasing' && time !== 'increasing') throw new AccelSettingError(`--skip-tuning: time must be constant, decreasing or increasing, got '${time}'`);
  const tuning: SkipTuning = single !== undefined
    ? { inner: factor('factor', single), outer: factor('factor', single), time }
    : { inner: factor('inner', inner ?? '1'), outer: factor('outer', outer ?? '1'), time };
  const window = settings.get('sigma');
  if (window !== undefined) {
    const [lo, hi] = window.split(':').map(Number);
    if (!(lo! >= 0 && hi! > lo!)) throw new AccelSettingError(`--skip-tuning: sigma must be LO:HI with 0 <= LO < HI, got '${window}'`);
    tuning.sigmaWindow = [lo!, hi!];
  }
  return tuning;
}

export function describeSkipTuning(tuning: SkipTuning): string {
  const parts = [tuning.inner === tuning.outer ? `factor=${tuning.inner}` : `inner=${tuning.inner},outer=${tuning.outer}`];
  if (tuning.time !== 'constant') parts.push(`time=${tuning.time}`);
  if (tuning.sigmaWindow) parts.push(`sigma=${tuning.sigmaWindow[0]}:${tuning.sigmaWindow[1]}`);
  return parts.join(',');
}

/**
 * The factor of each skip (index 0 = outermost) at step `step` of `steps`, for a call at noise level
 * `noiseLevel` (sigma/alpha). Outside the sigma window, or where the time schedule has faded out, every factor is 1.
 */
export function skipFactors(tuning: SkipTuning, numSkips: number, step: number, steps: number, noiseLevel: number): Float32Array {
  const out = new Float32Array(numSkips).fill(1);
  if (tuning.sigmaWindow && (noiseLevel < tuning.sigmaWindow[0] || noiseLevel > tuning.sigmaWindow[1])) return out;
  // progress runs 0 at the first step to 1 at the last.
  const progress = steps > 1 ? Math.min(1, step / (steps - 1)) : 0;
  const strength = tuning.time === 'decreasing' ? 1 - progress : tuning.time === 'increasing' ? progress : 1;
  for (let i = 0; i < numSkips; i++) {
    const towardInner = numSkips > 1 ? i / (numSkips - 1) : 0;
    const skipFactor = tuning.outer + (tuning.inner - tuning.outer) * towardInner;
    out[i] = 1 + (skipFactor - 1) * strength;
  }
  return out;
}
