// How the graphs of an imported model (as given, edited, cut, probed) reach ONNX Runtime. While
// their weights fit protobuf's 2 GB limit they go as bytes; beyond it as a model file in a temporary
// folder with the weights in one external data file beside it, as exporters write large models. The
// graphs of one network share that data file: graphs cut from one model hold the same tensors, and
// each is written once. The folder is removed on dispose.

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExternalData, type OnnxModel, encodeModel, encodeModelWithExternalData } from '../engine/onnx/codec.js';
import { ModelProto } from '../engine/onnx/schema.js';
import { OnnxSession, type SessionOptions } from '../engine/runtime.js';

/** Initializer bytes above which a graph's weights go to external data: protobuf's 2 GB limit, less room for the graph itself. */
const DEFAULT_INLINE_LIMIT = 2 ** 31 - 2 ** 27;

const DATA_FILE = 'weights.data';

/** A decoded ModelProto, for edits the model objects cannot express (outputs of unknown type). */
type ProtoEdit = (proto: { graph: { output: { name: string }[] } }) => void;

export class GraphFiles {
  private folder?: string;
  private external?: ExternalData;
  private graphs = 0;

  /** `inlineLimit`: initializer bytes above which weights are written as external data. */
  constructor(readonly inlineLimit = DEFAULT_INLINE_LIMIT) {}

  /** Bytes of weights written to the external data file so far. */
  get externalBytes(): number {
    return this.external?.length ?? 0;
  }

  /** What ONNX Runtime loads `model` from: its bytes, or the path of a model file with external data. `edit` changes the encoded graph. */
  source(model: OnnxModel, edit?: ProtoEdit): Uint8Array | string {
    const weights = [...model.graph.initializers.values()].reduce((sum, t) => sum + t.data.byteLength, 0);
    if (weights <= this.inlineLimit) return edit ? edited(encodeModel(model), edit) : encodeModel(model);
    this.folder ??= mkdtempSync(join(tmpdir(), 'hasten-graph-'));
    this.external ??= new ExternalData(DATA_FILE);
    const bytes = encodeModelWithExternalData(model, this.external);
    for (const chunk of this.external.takeNew()) appendFileSync(join(this.folder, DATA_FILE), chunk);
    const path = join(this.folder, `graph${this.graphs++}.onnx`);
    writeFileSync(path, edit ? edited(bytes, edit) : bytes);
    return path;
  }

  session(model: OnnxModel, options: SessionOptions = {}): Promise<OnnxSession> {
    return OnnxSession.create(this.source(model), options);
  }

  /** Removes the written files (sessions opened from them keep working: ONNX Runtime has read them). */
  dispose(): void {
    if (this.folder) rmSync(this.folder, { recursive: true, force: true });
    this.folder = undefined;
    this.external = undefined;
  }
}

function edited(bytes: Uint8Array, edit: ProtoEdit): Uint8Array {
  const proto = ModelProto.decode(bytes) as unknown as Parameters<ProtoEdit>[0];
  edit(proto);
  return ModelProto.encode(proto as never).finish();
}
