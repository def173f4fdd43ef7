// sumTo: undo broadcasting in a gradient by summing over the axes that were broadcast (tinygrad's sum_to_shape).
import { type Shape, dimEq } from '../graph/dim.js';
import type { Sym } from '../graph/graph.js';
import { reduceSum } from '../ops/reduce.js';
import { reshape } from '../ops/shape.js';

export function sumTo(dy: Sym, shape: Shape): Sym {
  let g = dy;
  const lead = g.rank - shape.length;
  if (lead > 0) g = reduceSum(g, Array.from({ length: lead }, (_, i) => i), false);
  const axes = shape.map((d, i) => (d === 1 && g.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  if (axes.length) g = reduceSum(g, axes, true);
  if (g.rank !== shape.length || g.shape.some((d, i) => !dimEq(d, shape[i]))) g = reshape(g, shape);
  return g;
}
