// Shared build-time checks for op builders: broadcasting, dtypes, axes. Errors name the op and the shapes.
import { LorakitError } from '../../errors.js';
import type { DType } from '../graph/dtype.js';
import { type Dim, type Shape, dimEq, shapeStr } from '../graph/dim.js';
import type { Sym } from '../graph/graph.js';

/** Numpy-style broadcasting; a dim broadcasts only when it is 1 (symbolic dims must be equal). */
export function broadcastShapes(op: string, a: Shape, b: Shape): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (dimEq(da, db) || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else {
      throw new LorakitError('LK_SHAPE', `${op}: cannot broadcast ${shapeStr(a)} with ${shapeStr(b)} (dim ${i}: ${da} vs ${db})`, {
        details: { op, a, b },
      });
    }
  }
  return out;
}

export function sameDtype(op: string, ...xs: Sym[]): DType {
  const d = xs[0].dtype;
  for (const x of xs) {
    if (x.dtype !== d) throw new LorakitError('LK_DTYPE', `${op}: operand dtypes differ: ${xs.map(String).join(', ')}`, { details: { op } });
  }
  return d;
}

export function requireFloat(op: string, x: Sym): void {
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new LorakitError('LK_DTYPE', `${op}: ${x} must be a float tensor`, { details: { op } });
}

export function requireDtype(op: string, x: Sym, ...allowed: DType[]): void {
  if (!allowed.includes(x.dtype)) throw new LorakitError('LK_DTYPE', `${op}: ${x} must be ${allowed.join(' or ')}`, { details: { op } });
}

export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new LorakitError('LK_SHAPE', `${op}: 'axis' ${axis} is out of range [${-rank}, ${rank}) for rank ${rank}`);
  return a;
}
