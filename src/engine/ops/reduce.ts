// Reductions and (log-)softmax along one axis.
import type { Dim } from '../graph/dim.js';
import type { Sym } from '../graph/graph.js';
import { normAxis, requireFloat } from './check.js';

function reduce(op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceMin', x: Sym, axes: readonly number[], keepdims: boolean): Sym {
  const ax = axes.map((a) => normAxis(op, a, x.rank));
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!ax.includes(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  return x.graph.node(op, [x, x.graph.ints(ax)], { keepdims: keepdims ? 1 : 0 }, [{ dtype: x.dtype, shape }])[0];
}

export const reduceSum = (x: Sym, axes: readonly number[], keepdims = false): Sym => reduce('ReduceSum', x, axes, keepdims);
export const reduceMean = (x: Sym, axes: readonly number[], keepdims = false): Sym => reduce('ReduceMean', x, axes, keepdims);
export const reduceMax = (x: Sym, axes: readonly number[], keepdims = false): Sym => reduce('ReduceMax', x, axes, keepdims);
export const reduceMin = (x: Sym, axes: readonly number[], keepdims = false): Sym => reduce('ReduceMin', x, axes, keepdims);

export function softmax(x: Sym, axis = -1): Sym {
  requireFloat('Softmax', x);
  return x.graph.node('Softmax', [x], { axis: normAxis('Softmax', axis, x.rank) }, [{ dtype: x.dtype, shape: x.shape }])[0];
}

export function logSoftmax(x: Sym, axis = -1): Sym {
  requireFloat('LogSoftmax', x);
  return x.graph.node('LogSoftmax', [x], { axis: normAxis('LogSoftmax', axis, x.rank) }, [{ dtype: x.dtype, shape: x.shape }])[0];
}
