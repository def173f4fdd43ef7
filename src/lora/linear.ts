// The only place LoRA math lives (PEFT layout: A is (r, in), B is (out, r)):
//   scaling = alpha / r, or alpha / √r with rsLoRA          (loraScaling; targets.ts resolves it per module)
//   y = base(x) + scaling · (dropout(x)·Aᵀ)·Bᵀ              (loraDelta: one adapter here, a batch of slots in multi.ts)
//   W' = W + scaling·B·A, transposed for fan_in_fan_out     (loraWeightDelta: merge.ts)
//   scaling·B on the host                                   (scaleB: multi.ts folds the scale into a slot once)
// A and B are graph inputs named by their PEFT keys, so gradients and adapter files use the same names. Dropout
// (training graphs only) draws its mask from a hash of the element index and the int64 input 'lora_dropout_seed'.
import { type Graph, type Sym, add, hashDropout, matmul, mul, transposeLast2 } from '../engine/index.js';
import type { LinearFn } from '../models/architecture.js';
import type { LoraSite } from './targets.js';

export const DROPOUT_SEED_INPUT = 'lora_dropout_seed';

/** PEFT's scaling of the update: alpha / r, or alpha / √r with use_rslora (Kalajdzievski 2023). */
export function loraScaling(alpha: number, r: number, rslora: boolean): number {
  return rslora ? alpha / Math.sqrt(r) : alpha / r;
}

/**
 * The low-rank term x·Aᵀ·scaling·Bᵀ for A (…, r, in) and B (…, out, r) (leading dims batch per row for slots).
 * The scale multiplies the rank-r intermediate, not the (…, out) product: same result, r/out of the work.
 */
export function loraDelta(x: Sym, a: Sym, b: Sym, scaling = 1): Sym {
  const xa = matmul(x, transposeLast2(a)); // (…, r)
  return matmul(scaling === 1 ? xa : mul(xa, scaling), transposeLast2(b)); // (…, out)
}

/** ΔW = scaling·B·A as the base stores W: (out, in), or (in, out) with fan_in_fan_out (GPT-2's Conv1D). */
export function loraWeightDelta(a: Sym, b: Sym, scaling: Sym, fanInFanOut: boolean): Sym {
  const delta = mul(matmul(b, a), scaling); // (out, in)
  return fanInFanOut ? transposeLast2(delta) : delta;
}

/** scaling·B, computed once on the host (O(adapter parameters)). */
export function scaleB(b: Float32Array, scaling: number): Float32Array {
  const out = new Float32Array(b.length);
  for (let i = 0; i < out.length; i++) out[i] = b[i] * scaling;
  return out;
}

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
    return add(y, loraDelta(xin, weight(site.keyA), weight(site.keyB), site.scaling));
  };
}
