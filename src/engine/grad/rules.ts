// One gradient rule per primitive op (tinygrad's pm_gradient): given the output gradients and the node, return one
// gradient per input (null where there is none). Composites (silu, rmsNorm, attention, cross-entropy) need no row.
// The mapped type makes a missing row a compile error; a row set to `null` means "no rule", which grad() reports
// at build time, naming the op, if such a node lies between a parameter and the loss.
import { LorakitError } from '../../errors.js';
import { isStatic } from '../graph/dim.js';
import { isFloat } from '../graph/dtype.js';
import type { GraphNode, Sym } from '../graph/graph.js';
import { cast, div, equal, exp, log, mul, neg, pow, sub, where } from '../ops/elementwise.js';
import { matmul, matmulT } from '../ops/matmul.js';
import { matMulNBits, matmulDequantized, nbitsBackward } from '../ops/quant.js';
import { reduceSum } from '../ops/reduce.js';
import {
  concat, expand, pad, reshape, reshapeLike, scatterNDAdd, slice, split, transpose, transposeLast2, unsqueeze,
  zerosLike, squeeze,
} from '../ops/shape.js';
import { sumTo } from './sum-to.js';

export type GradRule = (dys: readonly (Sym | null)[], node: GraphNode) => readonly (Sym | null)[];

export const primitiveOps = [
  'Add', 'Sub', 'Mul', 'Div', 'Neg', 'Exp', 'Log', 'Sqrt', 'Pow', 'Reciprocal', 'Tanh', 'Sigmoid', 'Erf', 'Abs',
  'Identity', 'Min', 'Max', 'MatMul', 'FusedMatMul', 'Gemm', 'Softmax', 'LogSoftmax', 'ReduceSum', 'ReduceMean', 'ReduceMax',
  'Reshape', 'Transpose', 'Concat', 'Split', 'Slice', 'Gather', 'Expand', 'Unsqueeze', 'Squeeze', 'Where', 'Cast',
  'Pad', 'Trilu', 'Equal', 'Less', 'Greater', 'Not', 'And', 'BitwiseAnd', 'BitwiseXor', 'BitShift', 'Shape', 'Range', 'ConstantOfShape',
  'ScatterND', 'MatMulNBits',
] as const;
export type PrimitiveOp = (typeof primitiveOps)[number];

const inp = (n: GraphNode, i: number): Sym => n.inputs[i]!;
const out = (n: GraphNode): Sym => n.outputs[0];
const none = (): null[] => [null, null, null, null];
const ints = (s: Sym): number[] => Array.from(s.value!.data as BigInt64Array, Number);

function matmulGrads(dy: Sym, a: Sym, b: Sym): [Sym, Sym] {
  // A weight (rank 2) against activations (rank > 2): flatten the batch so dW is one GEMM, not a batched
  // GEMM followed by a reduction.
  if (b.rank === 2 && a.rank > 2) {
    const k = a.shape[a.rank - 1], n = b.shape[1];
    const a2 = reshape(a, [-1, k]), dy2 = reshape(dy, [-1, n]);
    return [matmul(dy, transposeLast2(b)), matmul(transposeLast2(a2), dy2)];
  }
  if (a.rank === 2 && b.rank > 2) {
    const m = a.shape[0], k = a.shape[1];
    const bt = reshape(transpose(b, [...b.shape.slice(0, -2).map((_, i) => i), b.rank - 1, b.rank - 2]), [-1, k]); // (…·N, K)
    const dyt = reshape(transpose(dy, [dy.rank - 2, ...dy.shape.slice(0, -2).map((_, i) => i), dy.rank - 1]), [m, -1]); // (M, …·N)
    return [matmul(dyt, bt), sumTo(matmul(transposeLast2(a), dy), b.shape)];
  }
  return [sumTo(matmul(dy, transposeLast2(b)), a.shape), sumTo(matmul(transposeLast2(a), dy), b.shape)];
}

/** Gradient of ReduceSum/Mean: broadcast dy back over the reduced axes. */
function unreduce(dy: Sym, n: GraphNode): Sym {
  const x = inp(n, 0);
  const keep = n.attrs.keepdims !== 0;
  const g = keep ? dy : unsqueeze(dy, ints(inp(n, 1)));
  return expand(g, isStatic(x.shape) ? x.shape : x);
}

export const gradRules: { readonly [Op in PrimitiveOp]: GradRule | null } = {
  Add: ([dy], n) => [sumTo(dy!, inp(n, 0).shape), sumTo(dy!, inp(n, 1).shape)],
  Sub: ([dy], n) => [sumTo(dy!, inp(n, 0).shape), sumTo(neg(dy!), inp(n, 1).shape)],
  Mul: ([dy], n) => [sumTo(mul(dy!, inp(n, 1)), inp(n, 0).shape), sumTo(mul(dy!, inp(n, 0)), inp(n, 1).shape)],
  Div: ([dy], n) => [sumTo(div(dy!, inp(n, 1)), inp(n, 0).shape), sumTo(neg(div(mul(dy!, out(n)), inp(n, 1))), inp(n, 1).shape)],
  Neg: ([dy]) => [neg(dy!)],
  Exp: ([dy], n) => [mul(dy!, out(n))],
  Log: ([dy], n) => [div(dy!, inp(n, 0))],
  Sqrt: ([dy], n) => [div(mul(dy!, 0.5), out(n))],
  Pow: ([dy], n) => {
    const [x, p] = [inp(n, 0), inp(n, 1)];
    return [sumTo(mul(mul(dy!, p), pow(x, sub(p, 1))), x.shape), sumTo(mul(mul(dy!, out(n)), log(x)), p.shape)];
  },
  Reciprocal: ([dy], n) => [neg(mul(dy!, mul(out(n), out(n))))],
  Tanh: ([dy], n) => [mul(dy!, sub(1, mul(out(n), out(n))))],
  Sigmoid: ([dy], n) => [mul(dy!, mul(out(n), sub(1, out(n))))],
  Erf: ([dy], n) => [mul(dy!, mul(exp(neg(mul(inp(n, 0), inp(n, 0)))), 2 / Math.sqrt(Math.PI)))],
  Abs: ([dy], n) => [where(equal(out(n), inp(n, 0)), dy!, neg(dy!))],
  Identity: ([dy]) => [dy],
  Min: null,
  Max: null,
  MatMul: ([dy], n) => matmulGrads(dy!, inp(n, 0), inp(n, 1)),
  // y = x·Wᵀ with W frozen and packed; the weights get no gradient. dX = dY·W through the second packing of Wᵀ the
  // builder supplied (int8 compute), else W dequantized in the graph in chunks of rows (exact; transient floats).
  MatMulNBits: ([dy], n) => {
    const t = nbitsBackward.get(out(n))?.();
    if (t) return [matMulNBits(dy!, t.b, t.scales, t.zeroPoints, { ...t.layout, accuracyLevel: n.attrs.accuracy_level as 0 | 4 }), null, null, null];
    const l = { bits: n.attrs.bits as 4 | 8, blockSize: n.attrs.block_size as number, k: n.attrs.K as number, n: n.attrs.N as number };
    return [matmulDequantized(dy!, inp(n, 1), inp(n, 2), n.inputs[3] ?? null, l), null, null, null];
  },
  // op(A)·op(B), B always 2-D (see matmulT): every product below reads its operands transposed in place.
  FusedMatMul: ([dy], n) => {
    const [a, b] = [inp(n, 0), inp(n, 1)], ta = n.attrs.transA === 1, tb = n.attrs.transB === 1;
    if (n.attrs.alpha !== undefined || b.rank !== 2) {
      throw new LorakitError('LK_NO_GRAD_RULE', `FusedMatMul (node ${n.id}): gradient needs alpha 1 and a 2-D B`);
    }
    const k = a.shape[ta ? 0 : a.rank - 1], nOut = b.shape[tb ? 0 : 1];
    const a2 = ta ? a : reshape(a, [-1, k]), dy2 = reshape(dy!, [-1, nOut]); // (B·T, K), (B·T, N): dB is one GEMM
    const dA = ta ? matmulT(b, dy!, tb, true) : matmulT(dy!, b, false, !tb); // dY·op(B)ᵀ (transposed back if ta)
    const dB = tb ? matmulT(dy2, a2, true, ta) : matmulT(a2, dy2, !ta, false); // op(A)ᵀ·dY (transposed back if tb)
    return [dA, dB];
  },
  Gemm: ([dy], n) => {
    const [a, b] = [inp(n, 0), inp(n, 1)];
    const alpha = (n.attrs.alpha as { float: number }).float, beta = (n.attrs.beta as { float: number }).float;
    const g = alpha === 1 ? dy! : mul(dy!, alpha);
    const opA = n.attrs.transA ? transposeLast2(a) : a, opB = n.attrs.transB ? transposeLast2(b) : b;
    const dOpA = matmul(g, transposeLast2(opB)), dOpB = matmul(transposeLast2(opA), g);
    const c = n.inputs[2];
    return [
      n.attrs.transA ? transposeLast2(dOpA) : dOpA,
      n.attrs.transB ? transposeLast2(dOpB) : dOpB,
      c ? sumTo(beta === 1 ? dy! : mul(dy!, beta), c.shape) : null,
    ];
  },
  Softmax: ([dy], n) => {
    const y = out(n), axis = n.attrs.axis as number;
    return [mul(y, sub(dy!, reduceSum(mul(dy!, y), [axis], true)))];
  },
  LogSoftmax: ([dy], n) => [sub(dy!, mul(exp(out(n)), reduceSum(dy!, [n.attrs.axis as number], true)))],
  ReduceSum: ([dy], n) => [unreduce(dy!, n), null],
  ReduceMean: ([dy], n) => {
    const x = inp(n, 0);
    const count = ints(inp(n, 1)).map((a) => x.shape[a]);
    if (!count.every((d): d is number => typeof d === 'number')) {
      throw new LorakitError('LK_NO_GRAD_RULE', `ReduceMean (node ${n.id}): gradient needs static reduced dims, got ${x}`);
    }
    return [div(unreduce(dy!, n), count.reduce((p, d) => p * d, 1)), null];
  },
  ReduceMax: ([dy], n) => {
    const x = inp(n, 0), keep = n.attrs.keepdims !== 0, axes = ints(inp(n, 1));
    const y = keep ? out(n) : unsqueeze(out(n), axes), g = keep ? dy! : unsqueeze(dy!, axes);
    return [mul(cast(equal(x, y), x.dtype), g), null];
  },
  Reshape: ([dy], n) => [reshapeLike(dy!, inp(n, 0)), null],
  Transpose: ([dy], n) => {
    const perm = n.attrs.perm as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [transpose(dy!, inv)];
  },
  Concat: ([dy], n) => {
    const axis = n.attrs.axis as number;
    const sizes = n.inputs.map((x) => x!.shape[axis]);
    if (!sizes.every((d): d is number => typeof d === 'number')) {
      throw new LorakitError(
        'LK_NO_GRAD_RULE',
        `Concat (node ${n.id}): gradient needs static sizes on axis ${axis}, got ${n.inputs.join(', ')}`,
      );
    }
    return split(dy!, axis, sizes);
  },
  Split: (dys, n) => [concat(dys.map((d, i) => d ?? zerosLike(n.outputs[i])), n.attrs.axis as number), null],
  Slice: ([dy], n) => {
    const x = inp(n, 0), [start] = ints(inp(n, 1)), [end] = ints(inp(n, 2)), [axis] = ints(inp(n, 3));
    const d = x.shape[axis];
    if (typeof d !== 'number') {
      throw new LorakitError('LK_NO_GRAD_RULE', `Slice (node ${n.id}): gradient needs a static dim on axis ${axis}, got ${x}`);
    }
    const s = Math.max(0, Math.min(d, start < 0 ? start + d : start)), e = Math.max(s, Math.min(d, end < 0 ? end + d : end));
    const pads = new Array<number>(2 * x.rank).fill(0);
    pads[axis] = s;
    pads[axis + x.rank] = d - e;
    return [pad(dy!, pads), null, null, null];
  },
  Gather: ([dy], n) => {
    const x = inp(n, 0), idx = inp(n, 1), axis = n.attrs.axis as number;
    if (axis !== 0) {
      const perm = [axis, ...x.shape.map((_, i) => i).filter((i) => i !== axis)];
      const xt = transpose(x, perm);
      const dyPerm = [
        ...idx.shape.map((_, i) => axis + i),
        ...Array.from({ length: axis }, (_, i) => i),
        ...x.shape.slice(axis + 1).map((_, i) => axis + idx.rank + i),
      ];
      const g = scatterNDAdd(zerosLike(xt), unsqueeze(cast(idx, 'int64'), [-1]), transpose(dy!, dyPerm));
      return [transpose(g, perm.map((_, i) => perm.indexOf(i))), null];
    }
    return [scatterNDAdd(zerosLike(x), unsqueeze(cast(idx, 'int64'), [-1]), dy!), null];
  },
  Expand: ([dy], n) => [sumTo(dy!, inp(n, 0).shape), null],
  Unsqueeze: ([dy], n) => [squeeze(dy!, ints(inp(n, 1))), null],
  Squeeze: ([dy], n) => [reshapeLike(dy!, inp(n, 0)), null],
  Where: ([dy], n) => {
    const [c, a, b] = [inp(n, 0), inp(n, 1), inp(n, 2)];
    return [null, sumTo(where(c, dy!, 0), a.shape), sumTo(where(c, 0, dy!), b.shape)];
  },
  Cast: ([dy], n) => [isFloat(inp(n, 0).dtype) ? cast(dy!, inp(n, 0).dtype) : null],
  Pad: ([dy], n) => {
    const x = inp(n, 0), pads = ints(inp(n, 1));
    let g = dy!;
    for (let a = 0; a < x.rank; a++) if (pads[a] || pads[a + x.rank]) g = slice(g, a, pads[a], pads[a + x.rank] ? -pads[a + x.rank] : 2 ** 62);
    return [g, null];
  },
  Trilu: ([dy], n) => [dy!.graph.node('Trilu', [dy!, n.inputs[1]], n.attrs, [{ dtype: dy!.dtype, shape: dy!.shape }])[0], null],
  // Non-differentiable (integer or boolean results): no gradient flows.
  Equal: none,
  Less: none,
  Greater: none,
  Not: none,
  And: none,
  BitwiseAnd: none,
  BitwiseXor: none,
  BitShift: none,
  Shape: none,
  Range: none,
  ConstantOfShape: none,
  ScatterND: null,
};

export function ruleFor(op: string): GradRule | null | undefined {
  return (gradRules as Readonly<Record<string, GradRule | null>>)[op];
}
