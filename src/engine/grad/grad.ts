// Reverse-mode autodiff over the graph builder: appends backward nodes for d(loss)/d(wrt) to the same graph.
// Only nodes on a path from some `wrt` to the loss are differentiated, so frozen weights cost no gradient work;
// gradients of a tensor used several times are summed (llm.c's `dinp[i] += …`).
import { LorakitError } from '../../errors.js';
import { shapeStr } from '../graph/dim.js';
import { isFloat } from '../graph/dtype.js';
import type { GraphNode, Segment, Sym } from '../graph/graph.js';
import { add, cast, mul } from '../ops/elementwise.js';
import { expand, gather, reshape } from '../ops/shape.js';
import { ruleFor } from './rules.js';

export interface GradOptions {
  /** d(loss) seed; defaults to ones of loss's shape (loss is normally a scalar). */
  readonly seed?: Sym;
  /**
   * Gradient checkpointing: the backward pass of each graph segment (Graph.segment: a decoder layer) runs on a
   * recomputed copy of its forward, built from the segment's input, so only segment inputs stay alive between the
   * forward and the backward pass. Same gradients, about one more forward pass of compute.
   */
  readonly checkpoint?: boolean;
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
  const segmentOf = new Map<number, Segment>();
  if (opts.checkpoint) for (const s of g.segments) if (s.last <= lastNode) for (let id = s.first; id <= s.last; id++) segmentOf.set(id, s);
  const clones = new Map<number, GraphNode>();
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
      const inputs = n.inputs.map((x) => (x ? String(x) : '∅')).join(', ');
      const node = `node ${n.id}: ${inputs} → ${n.outputs.join(', ')}`;
      throw new LorakitError('LK_NO_GRAD_RULE', `failed to compute gradient for ${n.op} (${node})`, {
        hint: 'build this computation from primitives that have a rule (src/engine/grad/rules.ts), ' +
          'or keep it off the path from the parameters to the loss',
        details: { op: n.op, node: n.id },
      });
    }
    const seg = segmentOf.get(n.id);
    if (seg && !clones.has(n.id)) recompute(seg, dys.find((d) => d !== null)!, clones);
    const dxs = rule(dys, seg ? clones.get(n.id)! : n); // the rule reads recomputed forward values; grads go to n's inputs
    n.inputs.forEach((x, j) => {
      const d = dxs[j];
      if (x && d && depends.has(x.id)) accumulate(x, d);
    });
  }
  return wrt.map((w) => grads.get(w.id) ?? expand(g.scalar(0, w.dtype), w.shape));
}

/**
 * Re-emits the segment's nodes from a copy of its input that depends on `dy` (x + 0·dy[0]): the copy can only run in
 * the backward pass, once dy exists, and ORT's common-subexpression elimination cannot merge it with the forward
 * (different inputs), so the forward's activations die early and each segment is recomputed just before its
 * backward. Records original node id → clone in `clones`.
 */
function recompute(seg: Segment, dy: Sym, clones: Map<number, GraphNode>): void {
  const g = seg.input.graph;
  const zero = mul(gather(reshape(dy, [-1]), g.scalar(0, 'int64'), 0), 0); // () 0, available only once dy is
  const map = new Map<number, Sym>([[seg.input.id, add(seg.input, cast(zero, seg.input.dtype))]]);
  for (let id = seg.first; id <= seg.last; id++) {
    const n = g.nodes[id];
    const inputs = n.inputs.map((x) => (x ? map.get(x.id) ?? x : null));
    const outs = g.node(n.op, inputs, n.attrs, n.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape })), n.domain);
    n.outputs.forEach((o, k) => map.set(o.id, outs[k]));
    if (outs.length) clones.set(id, outs[0].producer!);
  }
}
