// The context a model is traced in. Models declare parameters and named sub-modules through it, and
// training-free acceleration plugs in here without forking model code: a plan can make any named
// module's output an extra graph output (to cache it) or replace the module by a graph input (to
// reuse a cached output instead of computing it).

import { type Graph, ShapeError, type Tensor, formatShape } from '../engine/graph.js';
import { sameShape } from '../engine/host-tensor.js';

export interface ModulePlan {
  /** Module paths whose outputs become graph outputs named `cache:<path>`. */
  capture?: ReadonlySet<string>;
  /** Module paths replaced by graph inputs named `cache:<path>` of the module's output shape. */
  reuse?: ReadonlyMap<string, readonly number[]>;
}

export const cacheName = (path: string): string => `cache:${path}`;

export class ModuleContext {
  private readonly path: string[] = [];
  readonly captured = new Map<string, Tensor>();
  private readonly reused = new Set<string>();

  constructor(readonly graph: Graph, readonly plan: ModulePlan = {}) {}

  /** The dotted path of the module being traced. */
  get currentPath(): string {
    return this.path.join('.');
  }

  /** A parameter named by the current module path, e.g. "enc.0.conv.weight". */
  param(name: string, shape: readonly number[]): Tensor {
    return this.graph.param([...this.path, name].join('.'), shape);
  }

  /** Runs `body` as the sub-module `name`, honouring the plan's capture and reuse lists. */
  module(name: string, body: () => Tensor): Tensor {
    this.path.push(name);
    const path = this.currentPath;
    try {
      const reusedShape = this.plan.reuse?.get(path);
      if (reusedShape) {
        this.reused.add(path);
        return this.cacheInput(cacheName(path), reusedShape);
      }
      const out = this.graph.scope(name, body);
      if (this.plan.capture?.has(path)) this.captured.set(cacheName(path), out);
      return out;
    } finally {
      this.path.pop();
    }
  }

  /** The graph input carrying a cached output: declared here, or already by compile() from the feeds. */
  private cacheInput(name: string, shape: readonly number[]): Tensor {
    const existing = this.graph.inputs.find((t) => t.name === name);
    if (!existing) return this.graph.input(name, shape);
    if (!sameShape(existing.shape, shape)) {
      throw new ShapeError(`cached input '${name}' is fed with shape ${formatShape(existing.shape)}, the module's output has ${formatShape(shape)}`);
    }
    return existing;
  }

  /** Module paths the plan asked to reuse that the model never reached: usually a typo in the plan. */
  unusedReuse(): string[] {
    return [...(this.plan.reuse?.keys() ?? [])].filter((p) => !this.reused.has(p));
  }
}
