// The only place LoRA math lives (PEFT layout: A is (r, in), B is (out, r)):
//   y = base(x) + scaling · (dropout(x)·Aᵀ)·Bᵀ
// A and B are graph inputs named by their PEFT keys, so gradients and adapter files use the same names. Dropout
// (training graphs only) draws its mask from a hash of the element index and the int64 input 'lora_dropout_seed'.
import { type Graph, type Sym, add, hashDropout, matmul, mul, transposeLast2 } from '../engine/index.js';
import type { LinearFn } from '../models/architecture.js';
import type { LoraSite } from './targets.js';

export const DROPOUT_SEED_INPUT = 'lora_dropout_seed';

export function loraLinear(sites: readonly LoraSite[], opts: { dropout?: number } = {}): (base: LinearFn, weight: (name: string) => Sym) => LinearFn {
  const byPath = new Map(sites.map((s, i) => [s.spec.path, { site: s, salt: i + 1 }]));
  const seeds = new WeakMap<Graph, Sym>();
  return (base, weight) => (spec, x) => {
    const y = base(spec, x);
    const hit = byPath.get(spec.path);
    if (!hit) return y;
    const { site, salt } = hit;
    let xin = x;
    if (opts.dropout && opts.dropout > 0) {
      let seed = seeds.get(x.graph);
      if (!seed) { seed = x.graph.input(DROPOUT_SEED_INPUT, 'int64', []); seeds.set(x.graph, seed); }
      xin = hashDropout(x, opts.dropout, seed, salt);
    }
    const xa = matmul(xin, transposeLast2(weight(site.keyA))); // (…, r)
    // Scale the rank-r intermediate, not the (…, out) product: same result, r/out of the work.
    return add(y, matmul(site.scaling === 1 ? xa : mul(xa, site.scaling), transposeLast2(weight(site.keyB)))); // (…, out)
  };
}
