// MatMul (batched, broadcasting batch dims) and Gemm.
import { LorakitError } from '../../errors.js';
import { dimEq, shapeStr } from '../graph/dim.js';
import type { Sym } from '../graph/graph.js';
import { broadcastShapes, sameDtype } from './check.js';

/** (..., M, K) @ (..., K, N) → (..., M, N); both operands rank >= 2. */
export function matmul(a: Sym, b: Sym): Sym {
  const dtype = sameDtype('MatMul', a, b);
  if (a.rank < 2 || b.rank < 2) throw new LorakitError('LK_SHAPE', `MatMul: operands need rank >= 2, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const k1 = a.shape[a.rank - 1], k2 = b.shape[b.rank - 2];
  if (!dimEq(k1, k2)) {
    throw new LorakitError('LK_SHAPE', `MatMul: inner dims differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)} (${k1} vs ${k2})`, { details: { op: 'MatMul', a: a.shape, b: b.shape } });
  }
  const batch = broadcastShapes('MatMul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  return a.graph.node('MatMul', [a, b], {}, [{ dtype, shape: [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]] }])[0];
}

export interface GemmOptions { readonly alpha?: number; readonly beta?: number; readonly transA?: boolean; readonly transB?: boolean }

/** alpha · op(A) @ op(B) + beta · C for 2-D A, B (C broadcast to (M, N)). */
export function gemm(a: Sym, b: Sym, c: Sym | null, o: GemmOptions = {}): Sym {
  const dtype = sameDtype('Gemm', a, b);
  if (a.rank !== 2 || b.rank !== 2) throw new LorakitError('LK_SHAPE', `Gemm: A and B must be 2-D, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const [m, k1] = o.transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = o.transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (!dimEq(k1, k2)) throw new LorakitError('LK_SHAPE', `Gemm: inner dims differ: op(A) ${shapeStr([m, k1])} vs op(B) ${shapeStr([k2, n])}`);
  if (c) broadcastShapes('Gemm', [m, n], c.shape);
  const attrs = { alpha: { float: o.alpha ?? 1 }, beta: { float: o.beta ?? 1 }, transA: o.transA ? 1 : 0, transB: o.transB ? 1 : 0 };
  return a.graph.node('Gemm', c ? [a, b, c] : [a, b], attrs, [{ dtype, shape: [m, n] }])[0];
}
