// MatMul (batched, broadcasting batch dims) and Gemm.
import { LorakitError } from '../../errors.js';
import { dimEq, shapeStr } from '../graph/dim.js';
import type { Sym } from '../graph/graph.js';
import { broadcastShapes, sameDtype } from './check.js';
import { transposeLast2 } from './shape.js';

/** (..., M, K) @ (..., K, N) → (..., M, N); both operands rank >= 2. */
export function matmul(a: Sym, b: Sym): Sym {
  const dtype = sameDtype('MatMul', a, b);
  if (a.rank < 2 || b.rank < 2) {
    throw new LorakitError('LK_SHAPE', `MatMul: operands need rank >= 2, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  }
  const k1 = a.shape[a.rank - 1], k2 = b.shape[b.rank - 2];
  if (!dimEq(k1, k2)) {
    throw new LorakitError(
      'LK_SHAPE',
      `MatMul: inner dims differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)} (${k1} vs ${k2})`,
      { details: { op: 'MatMul', a: a.shape, b: b.shape } },
    );
  }
  const batch = broadcastShapes('MatMul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]];
  // A 2-D operand that is a Transpose (x·Wᵀ of every linear, the tied LM head, dW = Xᵀ·dY) is read transposed in
  // place by com.microsoft FusedMatMul (transA/transB), so no transposed copy of a weight is ever materialized,
  // whatever ORT's own fusions decide (issue 12: memory of training).
  // ORT's CPU FusedMatMul is float32-only; float64 graphs (reference checks) keep Transpose + MatMul.
  const tb = dtype === 'float32' ? untransposed2d(b) : null, ta = dtype === 'float32' && b.rank === 2 ? untransposed2d(a) : null;
  if (ta || tb) {
    const attrs = { transA: ta ? 1 : 0, transB: tb ? 1 : 0 };
    return a.graph.node('FusedMatMul', [ta ?? a, tb ?? b], attrs, [{ dtype, shape }], 'com.microsoft')[0];
  }
  return a.graph.node('MatMul', [a, b], {}, [{ dtype, shape }])[0];
}

/** The source of a rank-2 Transpose node's output (x for xᵀ), else null. */
function untransposed2d(x: Sym): Sym | null {
  const p = x.producer;
  return p?.op === 'Transpose' && x.rank === 2 ? p.inputs[0] : null;
}

/**
 * op(A)·op(B) with op = transpose when the flag is set (com.microsoft FusedMatMul, alpha 1); transposed operands
 * must be 2-D. Used by the gradient rules; `matmul` emits it by itself when it sees a 2-D Transpose operand.
 */
export function matmulT(a: Sym, b: Sym, transA: boolean, transB: boolean): Sym {
  if ((transA && a.rank !== 2) || (transB && b.rank !== 2)) {
    const got = `${shapeStr(a.shape)} (transA ${transA}) and ${shapeStr(b.shape)} (transB ${transB})`;
    throw new LorakitError('LK_SHAPE', `FusedMatMul: transposed operands must be 2-D, got ${got}`);
  }
  if (!transA && !transB) return matmul(a, b);
  if (a.dtype !== 'float32') return matmul(transA ? transposeLast2(a) : a, transB ? transposeLast2(b) : b); // no float64 kernel
  const opA = transA ? [a.shape[1], a.shape[0]] : a.shape, opB = transB ? [b.shape[1], b.shape[0]] : b.shape;
  const k1 = opA[opA.length - 1], k2 = opB[opB.length - 2];
  if (!dimEq(k1, k2)) throw new LorakitError('LK_SHAPE', `FusedMatMul: inner dims differ: op(A) ${shapeStr(opA)} @ op(B) ${shapeStr(opB)}`);
  const batch = broadcastShapes('FusedMatMul', opA.slice(0, -2), opB.slice(0, -2));
  const shape = [...batch, opA[opA.length - 2], opB[opB.length - 1]];
  const attrs = { transA: transA ? 1 : 0, transB: transB ? 1 : 0 };
  return a.graph.node('FusedMatMul', [a, b], attrs, [{ dtype: sameDtype('FusedMatMul', a, b), shape }], 'com.microsoft')[0];
}

export interface GemmOptions { readonly alpha?: number; readonly beta?: number; readonly transA?: boolean; readonly transB?: boolean }

/** alpha · op(A) @ op(B) + beta · C for 2-D A, B (C broadcast to (M, N)). */
export function gemm(a: Sym, b: Sym, c: Sym | null, o: GemmOptions = {}): Sym {
  const dtype = sameDtype('Gemm', a, b);
  if (a.rank !== 2 || b.rank !== 2)
    throw new LorakitError('LK_SHAPE', `Gemm: A and B must be 2-D, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const [m, k1] = o.transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = o.transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (!dimEq(k1, k2)) throw new LorakitError('LK_SHAPE', `Gemm: inner dims differ: op(A) ${shapeStr([m, k1])} vs op(B) ${shapeStr([k2, n])}`);
  if (c) broadcastShapes('Gemm', [m, n], c.shape);
  const attrs = { alpha: { float: o.alpha ?? 1 }, beta: { float: o.beta ?? 1 }, transA: o.transA ? 1 : 0, transB: o.transB ? 1 : 0 };
  return a.graph.node('Gemm', c ? [a, b, c] : [a, b], attrs, [{ dtype, shape: [m, n] }])[0];
}
