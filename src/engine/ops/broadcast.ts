// Numpy-style broadcasting rules shared by the element-wise ops and their gradients.

import { ShapeError, formatShape } from '../graph.js';

export function broadcastShapes(opName: string, shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim !== 1 && d !== dim) {
        throw new ShapeError(`${opName}: shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast together`);
      }
      dim = d;
    }
    out.push(dim);
  }
  return out;
}

/** The axes of `full` that were broadcast from `shape`: summing over them undoes the broadcast. */
export function broadcastAxes(shape: readonly number[], full: readonly number[]): number[] {
  const offset = full.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < full.length; i++) {
    const d = i < offset ? 1 : shape[i - offset]!;
    if (i < offset || (d === 1 && full[i] !== 1)) axes.push(i);
  }
  return axes;
}

export function normalizeAxis(opName: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`${opName}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function normalizeAxes(opName: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normalizeAxis(opName, a, rank)))].sort((a, b) => a - b);
  return out;
}
