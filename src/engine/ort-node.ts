// The Node binding: onnxruntime-node, with the environment's HASTEN_EP, HASTEN_ORT_THREADS,
// HASTEN_ORT_SPIN and HASTEN_ORT_PROFILE settings.

import { accessSync, constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { executionProviderList, threadsFromEnv } from './execution-provider.js';
import type { OrtBinding } from './ort-binding.js';

const spinByDefault = process.env.HASTEN_ORT_SPIN !== '0';
// HASTEN_ORT_PROFILE=PREFIX makes every session write ONNX Runtime's per-op trace (Chrome trace JSON,
// PREFIX_<date>.json) when it is disposed: where the time of a graph goes, op by op.
const profilePrefix = process.env.HASTEN_ORT_PROFILE;

/** ONNX Runtime skips a trace it cannot write without a word, so an unwritable folder is an error up front. */
function checkProfileFolder(prefix: string): void {
  const folder = dirname(resolve(prefix));
  try {
    accessSync(folder, constants.W_OK);
  } catch (error) {
    throw new Error(`HASTEN_ORT_PROFILE=${prefix}: cannot write traces into ${folder} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export const platformOrt: OrtBinding = {
  get name() {
    return `onnxruntime-node (${executionProviderList()[0]})`;
  },
  InferenceSession: ort.InferenceSession,
  Tensor: ort.Tensor,
  sessionOptions(options) {
    if (profilePrefix) checkProfileFolder(profilePrefix);
    return {
      intraOpNumThreads: options.threads ?? threadsFromEnv() ?? availableParallelism(),
      executionProviders: executionProviderList(), // HASTEN_EP
      extra: { session: { intra_op: { allow_spinning: (options.spin ?? spinByDefault) ? '1' : '0' } } },
      ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
    };
  },
  beforeRelease(session) {
    if (profilePrefix) session.endProfiling();
  },
};
