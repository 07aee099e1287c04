// Where the page's time goes, as performance measures: the runtime's start, the model's download,
// each ONNX Runtime session's creation and each network call. The page shows the breakdown once it
// is ready and after each run; window.hasten.phases() hands the same figures to the tests and to
// `hasten bench web`.

import type { InferenceSession } from 'onnxruntime-common';
import type { OrtWebModule } from '../src/engine/ort-web.js';

/** Runs `work`, recording its span as a measure named `name`. */
export async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    performance.measure(name, { start, end: performance.now() });
  }
}

export interface Span {
  name: string;
  startS: number; // seconds since the page began to load
  durationS: number;
}

/** Every span recorded so far, in order of their start. */
export function spans(): Span[] {
  return performance.getEntriesByType('measure')
    .map((entry) => ({ name: entry.name, startS: entry.startTime / 1000, durationS: entry.duration / 1000 }))
    .sort((a, b) => a.startS - b.startS);
}

/** The total seconds of the spans named `name` that start within [fromS, toS). */
export function totalS(name: string, fromS = 0, toS = Infinity): number {
  return spans().filter((span) => span.name === name && span.startS >= fromS && span.startS < toS).reduce((sum, span) => sum + span.durationS, 0);
}

/** `ort` with every session's creation recorded as 'session' and every run as 'run'. */
export function timedOrt<T extends OrtWebModule>(ort: T): T {
  const create = async (...args: Parameters<T['InferenceSession']['create']>): Promise<InferenceSession> => {
    const session = await timed('session', () => (ort.InferenceSession.create as (...a: unknown[]) => Promise<InferenceSession>)(...args));
    const run = session.run.bind(session) as (...a: unknown[]) => Promise<InferenceSession.ReturnType>;
    return Object.assign(session, { run: (...runArgs: unknown[]) => timed('run', () => run(...runArgs)) });
  };
  return { ...ort, InferenceSession: Object.assign(Object.create(ort.InferenceSession) as T['InferenceSession'], { create }), env: ort.env };
}
