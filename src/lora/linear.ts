// The only place LoRA math lives (PEFT layout: A is (r, in), B is (out, r)):
//   y = base(x) + scaling · (x·Aᵀ)·Bᵀ
// A and B are graph inputs named by their PEFT keys, so gradients and adapter files use the same names.
import { type Sym, add, matmul, mul, transposeLast2 } from '../engine/index.js';
import type { LinearFn } from '../models/architecture.js';
import type { LoraSite } from './targets.js';

export function loraLinear(sites: readonly LoraSite[]): (base: LinearFn, weight: (name: string) => Sym) => LinearFn {
  const byPath = new Map(sites.map((s) => [s.spec.path, s]));
  return (base, weight) => (spec, x) => {
    const y = base(spec, x);
    const site = byPath.get(spec.path);
    if (!site) return y;
    const xa = matmul(x, transposeLast2(weight(site.keyA))); // (…, r)
    // Scale the rank-r intermediate, not the (…, out) product: same result, r/out of the work.
    return add(y, matmul(site.scaling === 1 ? xa : mul(xa, site.scaling), transposeLast2(weight(site.keyB)))); // (…, out)
  };
}
