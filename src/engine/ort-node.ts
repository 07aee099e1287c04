// The Node binding: onnxruntime-node, with the environment's HASTEN_EP, HASTEN_ORT_THREADS,
// HASTEN_ORT_SPIN, HASTEN_ORT_PROFILE and HASTEN_ORT_NCHWC settings.

import { accessSync, constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { executionProviderList, providerError, threadsFromEnv } from './execution-provider.js';
import type { OrtBinding } from './ort-binding.js';

const spinByDefault = process.env.HASTEN_ORT_SPIN !== '0';
// HASTEN_ORT_PROFILE=PREFIX makes every session write ONNX Runtime's per-op trace (Chrome trace JSON,
// PREFIX_<date>.json) when it is disposed: where the time of a graph goes, op by op.
const profilePrefix = process.env.HASTEN_ORT_PROFILE;
// HASTEN_ORT_NCHWC=0 lowers convolutions of graphs with run-time weights to plain ONNX instead of
// ONNX Runtime's NCHWc kernels (for comparisons; the NCHWc path is faster on CPUs that have it).
const nchwcEnabled = process.env.HASTEN_ORT_NCHWC !== '0';

/** ONNX Runtime skips a trace it cannot write without a word, so an unwritable folder is an error up front. */
function checkProfileFolder(prefix: string, named: string): void {
  const folder = dirname(resolve(prefix));
  try {
    accessSync(folder, constants.W_OK);
  } catch (error) {
    throw new Error(`${named}: cannot write traces into ${folder} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export const platformOrt: OrtBinding = {
  get name() {
    return `onnxruntime-node (${executionProviderList()[0]})`;
  },
  InferenceSession: ort.InferenceSession,
  Tensor: ort.Tensor,
  sessionOptions(options) {
    const prefix = typeof options.profile === 'string' ? options.profile : (options.profile ?? true) ? profilePrefix : undefined;
    if (prefix !== undefined) checkProfileFolder(prefix, typeof options.profile === 'string' ? `trace prefix ${prefix}` : `HASTEN_ORT_PROFILE=${prefix}`);
    return {
      intraOpNumThreads: options.threads ?? threadsFromEnv() ?? availableParallelism(),
      executionProviders: executionProviderList(), // HASTEN_EP
      extra: { session: { intra_op: { allow_spinning: (options.spin ?? spinByDefault) ? '1' : '0' } } },
      ...(prefix !== undefined ? { enableProfiling: true, profileFilePrefix: prefix } : {}),
    };
  },
  nchwc: nchwcEnabled,
  startError: (error) => providerError(error), // names HASTEN_EP's provider and where to install it
};
