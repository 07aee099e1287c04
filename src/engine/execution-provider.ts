// Where and on how many threads ONNX Runtime runs every session, from the environment, so that a
// worker process on a GPU machine or pinned to one core needs no flag of any command:
//
//   HASTEN_EP=cpu|cuda|webgpu   the execution provider (default cpu, the only one tested in CI; cuda and
//                               webgpu need onnxruntime-node's provider libraries, see docs/scale.md)
//   HASTEN_ORT_THREADS=N        intra-op threads of each session (default: the machine's cores)

import { InputError } from './input-error.js';

export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** The provider HASTEN_EP names; one clear error for anything else. */
export function executionProvider(env: NodeJS.ProcessEnv = process.env): ExecutionProvider {
  const raw = env.HASTEN_EP;
  if (raw === undefined || raw === '') return 'cpu';
  if (!(EXECUTION_PROVIDERS as readonly string[]).includes(raw)) throw new InputError(`HASTEN_EP=${raw}: expected one of ${EXECUTION_PROVIDERS.join(', ')}`);
  return raw as ExecutionProvider;
}

/** The intra-op thread count HASTEN_ORT_THREADS sets, or undefined when unset. */
export function threadsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.HASTEN_ORT_THREADS;
  if (raw === undefined || raw === '') return undefined;
  const threads = Number(raw);
  if (!Number.isInteger(threads) || threads < 1) throw new InputError(`HASTEN_ORT_THREADS=${raw}: expected a positive integer`);
  return threads;
}

/** ONNX Runtime's providers list: the chosen one first, the CPU as the fallback for ops it lacks. */
export function executionProviderList(provider: ExecutionProvider = executionProvider()): string[] {
  return provider === 'cpu' ? ['cpu'] : [provider, 'cpu'];
}

/** A session that failed to start on a non-CPU provider: the same error, saying which provider and where to look. */
export function providerError(error: unknown, provider: ExecutionProvider = executionProvider()): unknown {
  if (provider === 'cpu' || !(error instanceof Error)) return error;
  return new Error(`HASTEN_EP=${provider}: ONNX Runtime could not run on ${provider} (${error.message.split('\n')[0]}); docs/scale.md says how to install its libraries, and HASTEN_EP=cpu runs on the CPU`, { cause: error });
}
