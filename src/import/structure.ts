// Finding a U-Net's long skip connections and its encoder/decoder boundary in an exported graph,
// from topology. A skip is a channel Concat of two feature maps of one resolution where one operand
// (the skip) is an ancestor of the other (the decoder state) and the path between them goes through
// a coarser resolution, or starts at the coarsest one (the middle block's input). A U-Net's skips are
// popped off a stack: the first concat takes the deepest skip, the last takes the first one pushed.
// Anything else is refused, never guessed. Node names are not used, except to report.

import type { OnnxModel } from '../engine/onnx/codec.js';
import { GraphIndex } from './graph-index.js';
import { ImportError } from './onnx-file.js';
import type { Shapes } from './probe.js';
import type { UNetSignature } from './signature.js';

export interface SkipConnection {
  concat_node: string;
  /** The Concat's decoder-state operand. */
  hidden_operand: string;
  skip_operand: string;
  /** Which Concat input (0 or 1) is the skip. */
  skip_input: number;
  skip_producer_node: string;
  /** [height, width] of the skip. */
  resolution: number[];
  channels: number;
}

export interface UNetStructure {
  /** In graph order: the first is the innermost skip. */
  skips: SkipConnection[];
  boundary: { encoder_output: string; decoder_input: string };
}

export class StructureError extends ImportError {
  override name = 'StructureError';
}

const CONVOLUTIONS = new Set(['Conv', 'ConvTranspose']);

const nodeName = (model: OnnxModel, i: number): string => model.graph.nodes[i]!.name ?? `${model.graph.nodes[i]!.opType}#${i}`;

export function detectStructure(model: OnnxModel, signature: UNetSignature, shapes: Shapes): UNetStructure {
  const index = new GraphIndex(model.graph);
  // Feature maps: rank-4 values computed from the sample (through its values, not just its shape).
  const fromSample = index.descendants(signature.sample, true);
  const spatial = (t: string): number[] | undefined => {
    const s = shapes.get(t);
    return s && s.length === 4 && fromSample.has(t) ? s : undefined;
  };
  const area = (s: number[]) => s[2]! * s[3]!;
  // Resolutions are those convolutions produce (attention reshapes to rank 4 too, with other meanings).
  const isConvOutput = (t: string): boolean => {
    const producer = index.producer.get(t);
    return producer !== undefined && CONVOLUTIONS.has(index.node(producer).opType);
  };
  const convAreas = [...fromSample].filter(isConvOutput).map(spatial).filter((s) => s !== undefined).map((s) => area(s!));
  const coarsest = Math.min(...convAreas);

  const skips: (SkipConnection & { producer: number })[] = [];
  model.graph.nodes.forEach((node, i) => {
    if (node.opType !== 'Concat' || node.inputs.length !== 2) return;
    const [a, b] = node.inputs as [string, string];
    const [sa, sb] = [spatial(a), spatial(b)];
    const axis = node.attributes.axis;
    if (!sa || !sb || (axis !== 1 && axis !== -3) || sa[2] !== sb[2] || sa[3] !== sb[3]) return;
    const ancestorsOfA = index.ancestors(a);
    const ancestorsOfB = index.ancestors(b);
    const skipInput = ancestorsOfA.has(b) ? 1 : ancestorsOfB.has(a) ? 0 : -1;
    if (skipInput < 0) return;
    const skip = node.inputs[skipInput]!;
    const hidden = node.inputs[1 - skipInput]!;
    const skipShape = spatial(skip)!;
    // The path from the skip to the decoder state must reach a coarser resolution (a U-Net level below),
    // unless the skip is at the coarsest level already (the middle block's input).
    const between = [...index.descendants(skip)].filter((t) => (skipInput === 1 ? ancestorsOfA : ancestorsOfB).has(t));
    const dipsBelow = between.some((t) => {
      const s = isConvOutput(t) ? spatial(t) : undefined;
      return s !== undefined && area(s) < area(skipShape);
    });
    if (!dipsBelow && area(skipShape) !== coarsest) return;
    const producer = index.producer.get(skip);
    if (producer === undefined) return;
    skips.push({ concat_node: node.name ?? `Concat#${i}`, hidden_operand: hidden, skip_operand: skip, skip_input: skipInput, skip_producer_node: nodeName(model, producer), resolution: [skipShape[2]!, skipShape[3]!], channels: skipShape[1]!, producer });
  });
  if (skips.length === 0) throw new StructureError('no skip connections found: no channel Concat joins a decoder state with an encoder feature map of the same resolution; this graph is not a U-Net that hasten can cut');
  // Stack order: each later concat takes a skip pushed earlier.
  for (let i = 1; i < skips.length; i++) {
    if (!(skips[i]!.producer < skips[i - 1]!.producer)) {
      throw new StructureError(`the skip connections are not nested like a U-Net's: '${skips[i]!.concat_node}' takes a skip produced after that of '${skips[i - 1]!.concat_node}'; not cut`);
    }
  }
  // Every skip and the decoder input must be computed before the decoder starts: the first concat's hidden operand may not depend on any later concat.
  const first = skips[0]!;
  const decoderAncestors = index.ancestors(first.hidden_operand);
  const outOfOrder = skips.slice(1).find((s) => decoderAncestors.has(s.hidden_operand));
  if (outOfOrder) throw new StructureError(`the decoder input '${first.hidden_operand}' depends on the decoder state '${outOfOrder.hidden_operand}'; not cut`);
  return {
    skips: skips.map(({ producer: _producer, ...skip }) => skip),
    boundary: { encoder_output: first.skip_operand, decoder_input: first.hidden_operand },
  };
}
