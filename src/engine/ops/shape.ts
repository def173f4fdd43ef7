// Shape and indexing primitives: Reshape, Transpose, Concat, Split, Slice, Gather, Expand, (Un)Squeeze, Shape,
// Range, Trilu, ConstantOfShape, Pad, ScatterND. Static arguments become int64 constants (opset 18 takes them as inputs).
import { LorakitError } from '../../errors.js';
import type { DType } from '../graph/dtype.js';
import { type Dim, type Shape, dimEq, divDims, isStatic, normalizeDim, product, shapeStr } from '../graph/dim.js';
import type { Sym } from '../graph/graph.js';
import { broadcastShapes, normAxis, requireDtype } from './check.js';

/**
 * Reshape to `target`: numbers, -1 (inferred) and symbolic dims. A symbolic dim equal to the input's dim at the same
 * index is copied at run time (ONNX 0); any other symbolic dim must be the single inferred one.
 */
export function reshape(x: Sym, target: readonly Dim[]): Sym {
  const spec: number[] = [];
  let inferAt = -1;
  target.forEach((t, i) => {
    if (typeof t === 'number' && t !== -1) {
      if (t <= 0) throw new LorakitError('LK_SHAPE', `Reshape: target dim ${t} is invalid in ${shapeStr(target)}`);
      spec.push(t);
    } else if (typeof t === 'string' && i < x.rank && dimEq(x.shape[i], t)) spec.push(0);
    else {
      if (inferAt >= 0) throw new LorakitError('LK_SHAPE', `Reshape: ${shapeStr(x.shape)} → ${shapeStr(target)} has more than one dim to infer`);
      inferAt = i;
      spec.push(-1);
    }
  });
  const out: Dim[] = target.map((t, i) => (spec[i] === 0 ? x.shape[i] : t));
  const total = product(x.shape);
  if (inferAt >= 0) {
    const rest = product(out.filter((_, i) => i !== inferAt));
    const inferred = divDims(total, rest);
    if (inferred === null) throw new LorakitError('LK_SHAPE', `Reshape: cannot reshape ${shapeStr(x.shape)} to ${shapeStr(target)}`);
    if (typeof target[inferAt] === 'string' && !dimEq(target[inferAt], inferred)) {
      throw new LorakitError('LK_SHAPE',
        `Reshape: ${shapeStr(x.shape)} → ${shapeStr(target)} gives ${inferred} where ${target[inferAt]} was asked`);
    }
    out[inferAt] = inferred;
  } else if (!dimEq(product(out), total)) {
    throw new LorakitError('LK_SHAPE', `Reshape: cannot reshape ${shapeStr(x.shape)} (${total} elements) to ${shapeStr(target)}`);
  }
  if (out.length === x.rank && out.every((d, i) => dimEq(d, x.shape[i]))) return x;
  return x.graph.node('Reshape', [x, x.graph.ints(spec)], {}, [{ dtype: x.dtype, shape: out }])[0];
}

/** Reshape `x` to the (possibly dynamic) shape of `like`, read at run time when it is not static. */
export function reshapeLike(x: Sym, like: Sym): Sym {
  if (isStatic(like.shape)) return reshape(x, like.shape);
  return x.graph.node('Reshape', [x, shapeOf(like)], {}, [{ dtype: x.dtype, shape: like.shape }])[0];
}

export function transpose(x: Sym, perm: readonly number[]): Sym {
  if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) {
    throw new LorakitError('LK_SHAPE', `Transpose: perm [${perm}] is not a permutation of the ${x.rank} dims of ${x}`);
  }
  if (perm.every((p, i) => p === i)) return x;
  // Transpose of a Transpose composes into one (or none): the MatMul gradient's (Wᵀ)ᵀ is W again, never a copy.
  const inner = x.producer?.op === 'Transpose' ? x.producer : null;
  if (inner) return transpose(inner.inputs[0]!, perm.map((p) => (inner.attrs.perm as number[])[p]));
  return x.graph.node('Transpose', [x], { perm }, [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }])[0];
}

export function transposeLast2(x: Sym): Sym {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

function addDims(a: Dim, b: Dim): Dim {
  return typeof a === 'number' && typeof b === 'number' ? a + b : normalizeDim(`(${a}+${b})`);
}

export function concat(xs: readonly Sym[], axis: number): Sym {
  if (xs.length === 0) throw new LorakitError('LK_GRAPH', 'Concat: needs at least one input');
  if (xs.length === 1) return xs[0];
  const a = normAxis('Concat', axis, xs[0].rank);
  const shape = [...xs[0].shape];
  for (const x of xs.slice(1)) {
    if (x.rank !== shape.length || x.dtype !== xs[0].dtype || x.shape.some((d, i) => i !== a && !dimEq(d, shape[i]))) {
      throw new LorakitError('LK_SHAPE', `Concat(axis=${axis}): ${xs.map(String).join(', ')} do not fit`);
    }
    shape[a] = addDims(shape[a], x.shape[a]);
  }
  return xs[0].graph.node('Concat', xs, { axis: a }, [{ dtype: xs[0].dtype, shape }])[0];
}

export function split(x: Sym, axis: number, sizes: readonly number[]): Sym[] {
  const a = normAxis('Split', axis, x.rank);
  const total = sizes.reduce((p, s) => p + s, 0);
  if (typeof x.shape[a] === 'number' && x.shape[a] !== total) {
    throw new LorakitError('LK_SHAPE', `Split: sizes [${sizes}] sum to ${total}, but ${x} has ${x.shape[a]} on axis ${a}`);
  }
  return x.graph.node(
    'Split',
    [x, x.graph.ints(sizes)],
    { axis: a },
    sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? s : d)) })),
  );
}

/** x[start:end] along `axis` (step 1; negative indices count from the end, as in Python). */
export function slice(x: Sym, axis: number, start: number, end: number): Sym {
  const a = normAxis('Slice', axis, x.rank);
  const d = x.shape[a];
  let len: Dim;
  if (typeof d === 'number') {
    const s = Math.max(0, Math.min(d, start < 0 ? start + d : start));
    const e = Math.max(0, Math.min(d, end < 0 ? end + d : end));
    len = Math.max(0, e - s);
  } else if (start < 0 && end >= 2 ** 31) len = -start; // last k of a dynamic dim
  else if (start >= 0 && end >= 0 && end < 2 ** 31) len = end - start;
  else len = normalizeDim(`(${d}${start < 0 ? '' : '-' + start}${end >= 2 ** 31 ? '' : end < 0 ? String(end) : ''})`);
  const g = x.graph;
  return g.node('Slice', [x, g.ints([start]), g.ints([Math.min(end, 2 ** 62)]), g.ints([a])], {}, [
    { dtype: x.dtype, shape: x.shape.map((dd, i) => (i === a ? len : dd)) },
  ])[0];
}

export function gather(x: Sym, indices: Sym, axis = 0): Sym {
  requireDtype('Gather', indices, 'int64', 'int32');
  const a = normAxis('Gather', axis, x.rank);
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return x.graph.node('Gather', [x, indices], { axis: a }, [{ dtype: x.dtype, shape }])[0];
}

export function unsqueeze(x: Sym, axes: readonly number[]): Sym {
  const rank = x.rank + axes.length;
  const ax = axes.map((v) => normAxis('Unsqueeze', v, rank)).sort((p, q) => p - q);
  const shape: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[j++]);
  return x.graph.node('Unsqueeze', [x, x.graph.ints(ax)], {}, [{ dtype: x.dtype, shape }])[0];
}

export function squeeze(x: Sym, axes: readonly number[]): Sym {
  const ax = axes.map((v) => normAxis('Squeeze', v, x.rank));
  for (const a of ax) if (x.shape[a] !== 1) throw new LorakitError('LK_SHAPE', `Squeeze: dim ${a} of ${x} is not 1`);
  return x.graph.node('Squeeze', [x, x.graph.ints(ax)], {}, [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !ax.includes(i)) }])[0];
}

export function shapeOf(x: Sym): Sym {
  return x.graph.node('Shape', [x], {}, [{ dtype: 'int64', shape: [x.rank] }])[0];
}

/** Run-time size of dim `axis` of x, an int64 scalar: Gather(Shape(x), axis). Pass `shape` to reuse one Shape node. */
export function dimOf(x: Sym, axis: number, shape: Sym = shapeOf(x)): Sym {
  const a = normAxis('Gather', axis, x.rank);
  return x.graph.node('Gather', [shape, x.graph.scalar(a, 'int64')], { axis: 0 }, [{ dtype: 'int64', shape: [] }])[0];
}

/**
 * `x` unchanged, but only once `anchor` exists: a Reshape of x to its own static shape, given as Shape(anchor)[:1]·0 +
 * shape. onnxruntime is free to run a node whose inputs are all constants at the very start of a run; a chain that
 * reads x through this waits for `anchor` instead (low-memory QLoRA dequantizes each layer's weights from that
 * layer's input, so one layer's float weights are alive at a time, not the whole model's).
 */
export function after(x: Sym, anchor: Sym): Sym {
  if (!isStatic(x.shape)) throw new LorakitError('LK_SHAPE', `after: ${x} must have a static shape`);
  const g = x.graph, int64 = (shape: Shape) => [{ dtype: 'int64' as const, shape }];
  const first = g.node('Slice', [shapeOf(anchor), g.ints([0]), g.ints([1])], {}, int64([1]))[0];
  const zero = g.node('Mul', [first, g.scalar(0, 'int64')], {}, int64([1]))[0];
  const shape = g.node('Add', [zero, g.ints(x.shape as readonly number[])], {}, int64([x.rank]))[0];
  return g.node('Reshape', [x, shape], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** Broadcast `x` to `shape` (static) or to the run-time shape of `like`. */
export function expand(x: Sym, to: Shape | Sym): Sym {
  if (Array.isArray(to) || !('graph' in to)) {
    const shape = to as Shape;
    const out = broadcastShapes('Expand', x.shape, shape);
    if (out.length === x.rank && out.every((d, i) => dimEq(d, x.shape[i]))) return x;
    if (!isStatic(shape)) throw new LorakitError('LK_SHAPE', `Expand: target ${shapeStr(shape)} is dynamic; pass a tensor to take the shape from`);
    return x.graph.node('Expand', [x, x.graph.ints(shape)], {}, [{ dtype: x.dtype, shape: out }])[0];
  }
  const like = to as Sym;
  const out = broadcastShapes('Expand', x.shape, like.shape);
  if (out.length === x.rank && out.every((d, i) => dimEq(d, x.shape[i]))) return x;
  if (isStatic(out)) return x.graph.node('Expand', [x, x.graph.ints(out)], {}, [{ dtype: x.dtype, shape: out }])[0];
  return x.graph.node('Expand', [x, shapeOf(like)], {}, [{ dtype: x.dtype, shape: out }])[0];
}

/** 1-D int64 [start, limit) with the given step; `dim` names the (usually dynamic) length. */
export function range(start: Sym, limit: Sym, delta: Sym, dim: Dim): Sym {
  return start.graph.node('Range', [start, limit, delta], {}, [{ dtype: start.dtype, shape: [dim] }])[0];
}

export function trilu(x: Sym, upper: boolean, k = 0): Sym {
  return x.graph.node('Trilu', [x, x.graph.scalar(k, 'int64')], { upper: upper ? 1 : 0 }, [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** A tensor of `shape` (a static shape, or a run-time int64 shape tensor with its symbolic result) filled with `value`. */
export function constantOfShape(g: Sym['graph'], shape: Shape, value: number, dtype: DType = 'float32', shapeTensor?: Sym): Sym {
  const st = shapeTensor ?? (isStatic(shape) ? g.ints(shape) : null);
  if (!st) throw new LorakitError('LK_SHAPE', `ConstantOfShape: dynamic shape ${shapeStr(shape)} needs a shape tensor`);
  const data = dtype === 'float32' ? new Float32Array([value]) : dtype === 'float64' ? new Float64Array([value])
    : dtype === 'int64' ? new BigInt64Array([BigInt(value)]) : dtype === 'int32' ? new Int32Array([value]) : new Uint8Array([value]);
  return g.node('ConstantOfShape', [st], { value: { dtype, shape: [1], data } }, [{ dtype, shape }])[0];
}

export function zerosLike(x: Sym): Sym {
  return constantOfShape(x.graph, x.shape, 0, x.dtype, isStatic(x.shape) ? undefined : shapeOf(x));
}

/** Constant padding with static pads (ONNX order: all begins, then all ends). */
export function pad(x: Sym, pads: readonly number[]): Sym {
  if (pads.length !== 2 * x.rank) throw new LorakitError('LK_SHAPE', `Pad: needs ${2 * x.rank} pads for ${x}, got ${pads.length}`);
  const shape = x.shape.map((d, i) =>
    pads[i] === 0 && pads[i + x.rank] === 0
      ? d
      : typeof d === 'number'
        ? d + pads[i] + pads[i + x.rank]
        : normalizeDim(`(${d}+${pads[i] + pads[i + x.rank]})`),
  );
  return x.graph.node('Pad', [x, x.graph.ints(pads)], { mode: 'constant' }, [{ dtype: x.dtype, shape }])[0];
}

/** data with `updates` added at `indices` (ScatterND, reduction 'add'): the gradient of Gather. */
export function scatterNDAdd(data: Sym, indices: Sym, updates: Sym): Sym {
  return data.graph.node('ScatterND', [data, indices, updates], { reduction: 'add' }, [{ dtype: data.dtype, shape: data.shape }])[0];
}
