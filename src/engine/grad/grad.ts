// Reverse-mode autodiff over the graph builder: appends backward nodes for d(loss)/d(wrt) to the same graph.
// Only nodes on a path from some `wrt` to the loss are differentiated, so frozen weights cost no gradient work;
// gradients of a tensor used several times are summed (llm.c's `dinp[i] += …`).
import { LorakitError } from '../../errors.js';
import { shapeStr } from '../graph/dim.js';
import { isFloat } from '../graph/dtype.js';
import type { GraphNode, Sym } from '../graph/graph.js';
import { add } from '../ops/elementwise.js';
import { expand } from '../ops/shape.js';
import { ruleFor } from './rules.js';

export interface GradOptions {
  /** d(loss) seed; defaults to ones of loss's shape (loss is normally a scalar). */
  readonly seed?: Sym;
}

export function grad(loss: Sym, wrt: readonly Sym[], opts: GradOptions = {}): Sym[] {
  const g = loss.graph;
  if (!isFloat(loss.dtype)) throw new LorakitError('LK_DTYPE', `grad: loss ${loss} must be a float tensor`);
  for (const w of wrt) {
    if (w.graph !== g) throw new LorakitError('LK_GRAPH', `grad: ${w} belongs to another graph than the loss`);
    if (!isFloat(w.dtype)) throw new LorakitError('LK_DTYPE', `grad: cannot differentiate with respect to ${w} (not a float tensor)`);
  }
  // Forward reachability: which tensors depend on some wrt.
  const depends = new Set<number>(wrt.map((w) => w.id));
  const lastNode = loss.producer ? loss.producer.id : -1;
  for (const n of g.nodes) {
    if (n.id > lastNode) break;
    if (n.inputs.some((x) => x && depends.has(x.id))) for (const o of n.outputs) if (isFloat(o.dtype)) depends.add(o.id);
  }
  const grads = new Map<number, Sym>();
  const accumulate = (x: Sym, d: Sym): void => {
    if (d.rank !== x.rank || d.shape.some((s, i) => String(s) !== String(x.shape[i]))) {
      throw new LorakitError('LK_INTERNAL', `grad: gradient ${shapeStr(d.shape)} does not match ${x}`);
    }
    const prev = grads.get(x.id);
    grads.set(x.id, prev ? add(prev, d) : d);
  };
  if (depends.has(loss.id)) accumulate(loss, opts.seed ?? expand(g.scalar(1, loss.dtype), loss.shape));
  // Backward walk in reverse creation order (creation order is topological). Nodes appended by rules have larger
  // ids and are never visited.
  const nodes: GraphNode[] = g.nodes.slice(0, lastNode + 1);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    const dys = n.outputs.map((o) => grads.get(o.id) ?? null);
    if (dys.every((d) => d === null)) continue;
    if (!n.inputs.some((x) => x && depends.has(x.id))) continue;
    const rule = ruleFor(n.op);
    if (!rule) {
      throw new LorakitError('LK_NO_GRAD_RULE', `failed to compute gradient for ${n.op} (node ${n.id}: ${n.inputs.map((x) => (x ? String(x) : '∅')).join(', ')} → ${n.outputs.join(', ')})`, {
        hint: 'build this computation from primitives that have a rule (src/engine/grad/rules.ts), or keep it off the path from the parameters to the loss',
        details: { op: n.op, node: n.id },
      });
    }
    const dxs = rule(dys, n);
    n.inputs.forEach((x, j) => {
      const d = dxs[j];
      if (x && d && depends.has(x.id)) accumulate(x, d);
    });
  }
  return wrt.map((w) => grads.get(w.id) ?? expand(g.scalar(0, w.dtype), w.shape));
}
