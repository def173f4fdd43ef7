// Elementwise primitives (with broadcasting) and comparisons. Numbers are lifted to scalar constants.
import { LorakitError } from '../../errors.js';
import { type DType, onnxDataType } from '../graph/dtype.js';
import type { Sym } from '../graph/graph.js';
import { broadcastShapes, requireDtype, requireFloat, sameDtype } from './check.js';

export type Operand = Sym | number;

function lift(a: Operand, b: Operand, op: string): [Sym, Sym] {
  if (typeof a === 'number' && typeof b === 'number') throw new LorakitError('LK_GRAPH', `${op}: at least one operand must be a tensor`);
  const x = typeof a === 'number' ? (b as Sym).graph.scalar(a, (b as Sym).dtype) : a;
  const y = typeof b === 'number' ? x.graph.scalar(b, x.dtype) : b;
  return [x, y];
}

function binary(op: string, a: Operand, b: Operand, outDtype?: DType): Sym {
  const [x, y] = lift(a, b, op);
  const dtype = sameDtype(op, x, y);
  return x.graph.node(op, [x, y], {}, [{ dtype: outDtype ?? dtype, shape: broadcastShapes(op, x.shape, y.shape) }])[0];
}

function unary(op: string, x: Sym, floatOnly = true): Sym {
  if (floatOnly) requireFloat(op, x);
  return x.graph.node(op, [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
}

export const add = (a: Operand, b: Operand): Sym => binary('Add', a, b);
export const sub = (a: Operand, b: Operand): Sym => binary('Sub', a, b);
export const mul = (a: Operand, b: Operand): Sym => binary('Mul', a, b);
export const div = (a: Operand, b: Operand): Sym => binary('Div', a, b);
export const pow = (a: Operand, b: Operand): Sym => binary('Pow', a, b);
export const minimum = (a: Operand, b: Operand): Sym => binary('Min', a, b);
export const maximum = (a: Operand, b: Operand): Sym => binary('Max', a, b);
export const equal = (a: Operand, b: Operand): Sym => binary('Equal', a, b, 'bool');
export const less = (a: Operand, b: Operand): Sym => binary('Less', a, b, 'bool');
export const greater = (a: Operand, b: Operand): Sym => binary('Greater', a, b, 'bool');
export const and = (a: Sym, b: Sym): Sym => binary('And', a, b, 'bool');
/** Integer bit operations (opset 18), used for counter-based hashing (dropout masks) in the graph. */
export const bitwiseAnd = (a: Operand, b: Operand): Sym => binary('BitwiseAnd', a, b);
export const bitwiseXor = (a: Operand, b: Operand): Sym => binary('BitwiseXor', a, b);

export const neg = (x: Sym): Sym => unary('Neg', x, false);
export const exp = (x: Sym): Sym => unary('Exp', x);
export const log = (x: Sym): Sym => unary('Log', x);
export const sqrt = (x: Sym): Sym => unary('Sqrt', x);
export const reciprocal = (x: Sym): Sym => unary('Reciprocal', x);
export const tanh = (x: Sym): Sym => unary('Tanh', x);
export const sigmoid = (x: Sym): Sym => unary('Sigmoid', x);
export const erf = (x: Sym): Sym => unary('Erf', x);
export const abs = (x: Sym): Sym => unary('Abs', x, false);
/** min(max(x, lo), hi), one pass. */
export function clip(x: Sym, lo: number, hi: number): Sym {
  requireFloat('Clip', x);
  return x.graph.node('Clip', [x, x.graph.scalar(lo, x.dtype), x.graph.scalar(hi, x.dtype)], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
}
/** Round to the nearest integer, halves to even (ONNX Round). */
export const round = (x: Sym): Sym => unary('Round', x);
export const identity = (x: Sym): Sym => unary('Identity', x, false);

export function not(x: Sym): Sym {
  requireDtype('Not', x, 'bool');
  return x.graph.node('Not', [x], {}, [{ dtype: 'bool', shape: x.shape }])[0];
}

/** cond ? a : b, with broadcasting over all three. */
export function where(cond: Sym, a: Operand, b: Operand): Sym {
  requireDtype('Where', cond, 'bool');
  const [x, y] = lift(a, b, 'Where');
  const dtype = sameDtype('Where', x, y);
  const shape = broadcastShapes('Where', broadcastShapes('Where', cond.shape, x.shape), y.shape);
  return x.graph.node('Where', [cond, x, y], {}, [{ dtype, shape }])[0];
}

export function cast(x: Sym, to: DType): Sym {
  if (x.dtype === to) return x;
  return x.graph.node('Cast', [x], { to: onnxDataType[to] }, [{ dtype: to, shape: x.shape }])[0];
}

export function dtypeFromOnnx(n: number): DType {
  const hit = (Object.keys(onnxDataType) as DType[]).find((k) => onnxDataType[k] === n);
  if (!hit) throw new LorakitError('LK_DTYPE', `Cast: unsupported ONNX dtype ${n}`);
  return hit;
}
