// Memory a forward pass needs per sample, measured on the traced graph: the bytes of every value the
// outputs need (parameters and inputs excluded). ONNX Runtime reuses buffers, so the peak is lower;
// the sum is the bound that requests are checked against before any work starts.

import { bytesPerElement, numel } from '../engine/host-tensor.js';
import { neededNodes } from '../engine/onnx/lower.js';
import { traceFunction } from '../engine/runtime.js';
import { type DiffusionNet, netTraceFn } from './network.js';

/** Bytes of the intermediate values of one sample's forward pass of `model`. */
export function activationBytesPerSample(model: DiffusionNet): number {
  const { graph, outputs } = traceFunction(netTraceFn(model), model.inputSpecs(1));
  let bytes = 0;
  for (const node of neededNodes(graph, Object.values(outputs))) for (const output of node.outputs) bytes += numel(output.shape) * bytesPerElement(output.dtype);
  return bytes;
}
