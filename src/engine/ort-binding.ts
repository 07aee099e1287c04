// The ONNX Runtime that runs the graphs. onnxruntime-node and onnxruntime-web speak the same API
// (onnxruntime-common's); each platform's binding module fills in what differs: threads, spinning,
// profiling, execution providers. The runtime takes the platform's default (package.json "#ort":
// Node or browser) unless a caller chooses another with useOrt().

import type { InferenceSession, Tensor } from 'onnxruntime-common';

export interface SessionOptions {
  /** Intra-op threads; defaults to the platform's choice (in Node HASTEN_ORT_THREADS, else the available cores). */
  threads?: number;
  /**
   * Whether idle ONNX Runtime threads spin. Spinning shaves latency off small ops on an otherwise idle
   * machine but wastes the cores when other processes compete for them; HASTEN_ORT_SPIN=0 turns it off.
   */
  spin?: boolean;
  /**
   * Whether the session writes ONNX Runtime's per-op trace, where the platform can (Node: when
   * HASTEN_ORT_PROFILE is set); a string writes it to a file prefix of its own (PREFIX_<date>.json).
   */
  profile?: boolean | string;
}

export interface OrtBinding {
  /** Which runtime and backend, for people: 'onnxruntime-node (cpu)', 'onnxruntime-web (wasm)'. */
  name: string;
  InferenceSession: typeof InferenceSession;
  Tensor: typeof Tensor;
  /** The platform's part of a session's options; enableProfiling set means the trace is written when the session closes. */
  sessionOptions(options: SessionOptions): InferenceSession.SessionOptions;
  /** Whether the runtime has ONNX Runtime's NCHWc CPU kernels (com.microsoft.nchwc) for graphs to use. */
  nchwc: boolean;
  /** Whether a run takes its inputs' buffers away (onnxruntime-web's proxy worker transfers them), so that feeds must be copies. */
  transfersInputs?: boolean;
  /** The error to show for a session that failed to start, saying what the platform's settings have to do with it (optional). */
  startError?(error: unknown): unknown;
}
