// The traced graph: symbolic tensors whose shapes and dtypes are fixed at trace time, and the
// nodes that produce them. Ops are applied eagerly while a model function runs, so a shape error
// is thrown at the line that caused it, naming the op and the shapes.

import { sameShape, type DType, type HostTensor, numel } from './host-tensor.js';

export type Attrs = Record<string, unknown>;

export interface OutputSpec {
  shape: number[];
  dtype: DType;
}

/** Emits ONNX nodes for one traced node. Names are ONNX value names. */
export interface Emitter {
  /** An ONNX node; `domain` names an operator set other than the standard one. */
  node(opType: string, inputs: string[], outputs: string[], attrs?: Attrs, domain?: string): void;
  /** A fresh intermediate value name. */
  temp(hint?: string): string;
  /** An int64 constant (shapes, axes, pads), shared between nodes that need the same one. */
  int64s(values: readonly number[]): string;
  /** A constant tensor. */
  constant(tensor: HostTensor): string;
  /** The value `make` emits, made once per model for `key` and shared by every op that asks for the same key. */
  shared(key: string, make: () => string): string;
  /**
   * Channel block of ONNX Runtime's NCHWc CPU kernels (com.microsoft.nchwc) when the model may use
   * them, 0 for portable ONNX (files, browsers).
   */
  readonly nchwcBlock: number;
}

export interface OpDef<A extends Attrs = Attrs> {
  name: string;
  /** Output shapes and dtypes; throws ShapeError on bad inputs. */
  infer(inputs: Tensor[], attrs: A): OutputSpec[];
  lower(emit: Emitter, inputs: string[], outputs: string[], attrs: A, node: Node<A>): void;
  /** Gradients of the inputs given the gradients of the outputs (null where an output has none). */
  vjp?(outputGrads: (Tensor | null)[], node: Node<A>): (Tensor | null)[];
  /** Floating-point operations, counting a multiply-add as 2. */
  flops?(node: Node<A>): number;
}

export interface Node<A extends Attrs = Attrs> {
  id: number;
  op: OpDef<A>;
  inputs: Tensor[];
  outputs: Tensor[];
  attrs: A;
  /** The module path active when the node was traced, e.g. "enc.1.attn". */
  scope: string;
}

export type TensorKind = 'input' | 'param' | 'const' | 'op';

export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly kind: TensorKind,
    readonly node?: Node,
    readonly outputIndex = 0,
    readonly name?: string,
    readonly value?: HostTensor,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return numel(this.shape);
  }

  toString(): string {
    return `Tensor(${this.name ?? `%${this.id}`}: ${this.dtype}${formatShape(this.shape)})`;
  }
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly params = new Map<string, Tensor>();
  private nextId = 0;
  private scopeStack: string[] = [];

  input(name: string, shape: readonly number[], dtype: DType = 'float32'): Tensor {
    if (this.inputs.some((t) => t.name === name) || this.params.has(name)) throw new Error(`graph already has a value named '${name}'`);
    checkShape(shape, `input '${name}'`);
    const t = new Tensor(this, this.nextId++, [...shape], dtype, 'input', undefined, 0, name);
    this.inputs.push(t);
    return t;
  }

  /** A named trainable parameter; its value is bound at lowering time. */
  param(name: string, shape: readonly number[]): Tensor {
    const existing = this.params.get(name);
    if (existing) {
      if (!sameShape(existing.shape, shape)) {
        throw new ShapeError(`parameter '${name}' used with shape ${formatShape(shape)} but declared ${formatShape(existing.shape)}`);
      }
      return existing;
    }
    if (this.inputs.some((t) => t.name === name)) throw new Error(`graph already has an input named '${name}'`);
    checkShape(shape, `parameter '${name}'`);
    const t = new Tensor(this, this.nextId++, [...shape], 'float32', 'param', undefined, 0, name);
    this.params.set(name, t);
    return t;
  }

  constant(value: HostTensor): Tensor {
    return new Tensor(this, this.nextId++, [...value.shape], value.dtype, 'const', undefined, 0, undefined, value);
  }

  /** Runs `body` with `name` appended to the module path recorded on every node it traces. */
  scope<T>(name: string, body: () => T): T {
    this.scopeStack.push(name);
    try {
      return body();
    } finally {
      this.scopeStack.pop();
    }
  }

  get currentScope(): string {
    return this.scopeStack.join('.');
  }

  apply<A extends Attrs>(op: OpDef<A>, inputs: Tensor[], attrs: A): Tensor[] {
    for (const t of inputs) {
      if (t.graph !== this) throw new Error(`${op.name}: an input belongs to another graph (${t})`);
    }
    const specs = op.infer(inputs, attrs);
    const node: Node<A> = { id: this.nodes.length, op, inputs, outputs: [], attrs, scope: this.currentScope };
    node.outputs = specs.map((spec, i) => {
      checkShape(spec.shape, op.name);
      return new Tensor(this, this.nextId++, spec.shape, spec.dtype, 'op', node as Node, i);
    });
    this.nodes.push(node as Node);
    return node.outputs;
  }
}

function checkShape(shape: readonly number[], what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what}: invalid shape ${formatShape(shape)}`);
  }
}

/** Applies a single-output op. */
export function apply1<A extends Attrs>(op: OpDef<A>, inputs: Tensor[], attrs: A): Tensor {
  return inputs[0]!.graph.apply(op, inputs, attrs)[0]!;
}
