// Many adapters in one batch (Punica / S-LoRA style): every adaptable module in a fixed target set takes stacked
// slot tensors `multi_lora.<path>.A` (N, R, in) and `multi_lora.<path>.B` (N, out, R) plus an int64
// `adapter_slot` (B) input; each row gathers its own A/B and adds x·A_rowᵀ·B_rowᵀ to the shared base output.
// Slot 0 stays all zeros (= the base model). Each adapter's scaling is folded into its B slot once, when it is
// prepared; ranks below R are zero-padded, which adds exact zeros. Writing an adapter into a slot is memcpy
// (TypedArray.set), never arithmetic. Not a scheduler: src/serve decides which adapter lives in which slot.
import { type Graph, type Sym, add, gather } from '../engine/index.js';
import { LorakitError } from '../errors.js';
import type { LinearFn, LinearSpec } from '../models/architecture.js';
import type { TensorF32 } from '../models/causal-lm.js';
import type { Adapter } from './adapter.js';
import { loraDelta, scaleB } from './linear.js';

export const ADAPTER_SLOT_INPUT = 'adapter_slot';
export const slotKeyA = (path: string): string => `multi_lora.${path}.A`;
export const slotKeyB = (path: string): string => `multi_lora.${path}.B`;

/**
 * The wrapLinear for buildCausalLMGraph: modules in `targets` get the per-row low-rank term. The slot inputs
 * have a symbolic rank dim 'R' so the graph compiles once whatever the largest resident rank is.
 */
export function multiLoraWrap(targets: ReadonlyMap<string, LinearSpec>, slots: number): (base: LinearFn, weight: (name: string) => Sym) => LinearFn {
  const perGraph = new WeakMap<Graph, Sym>();
  const slotInput = (g: Graph): Sym => {
    let s = perGraph.get(g);
    if (!s) { s = g.input(ADAPTER_SLOT_INPUT, 'int64', ['B']); perGraph.set(g, s); }
    return s;
  };
  return (base) => (spec, x) => {
    const y = base(spec, x); // (B, T, out): the base matmul is shared by the whole batch
    if (!targets.has(spec.path)) return y;
    const g = x.graph, slot = slotInput(g);
    const a = gather(g.input(slotKeyA(spec.path), 'float32', [slots, 'R', spec.inFeatures]), slot, 0); // (B, R, in)
    const b = gather(g.input(slotKeyB(spec.path), 'float32', [slots, spec.outFeatures, 'R']), slot, 0); // (B, out, R)
    return add(y, loraDelta(x, a, b)); // (B, T, in) → (B, T, R) → (B, T, out); the scale is folded into B
  };
}

/** An adapter laid out for slots: per module A (r, in) and scaling·B (out, r), scaled once at prepare time. */
export interface PreparedAdapter {
  readonly rank: number;
  readonly modules: ReadonlyMap<string, { readonly r: number; readonly a: Float32Array; readonly b: Float32Array; readonly spec: LinearSpec }>;
  readonly bytes: number;
}

/** Folds each site's scaling into B (O(adapter parameters), once per load from disk; not per token). */
export function prepareAdapter(a: Pick<Adapter, 'sites' | 'tensors'>): PreparedAdapter {
  const modules = new Map<string, { r: number; a: Float32Array; b: Float32Array; spec: LinearSpec }>();
  let rank = 0, bytes = 0;
  for (const s of a.sites) {
    const A = a.tensors.get(s.keyA), B = a.tensors.get(s.keyB);
    if (!A || !B) throw new LorakitError('LK_ADAPTER', `prepareAdapter: missing '${!A ? s.keyA : s.keyB}'`);
    const b = scaleB(B.data, s.scaling);
    modules.set(s.spec.path, { r: s.r, a: A.data, b, spec: s.spec });
    rank = Math.max(rank, s.r);
    bytes += (A.data.length + b.length) * 4;
  }
  return { rank, modules, bytes };
}

/**
 * Preallocated slot tensors for a set of target modules: `slots` slots (slot 0 = base, never written) of rank R.
 * R grows (re-laying out the resident slots) when an adapter of a larger rank is written; targets can be added.
 */
export class MultiLoraSlots {
  private rank = 1;
  private readonly targetMap = new Map<string, LinearSpec>();
  private a = new Map<string, Float32Array>();
  private b = new Map<string, Float32Array>();
  private readonly contents: (PreparedAdapter | null)[];
  /** Bumped whenever the target set changes (the decode graph depends on it). */
  version = 0;

  constructor(readonly slots: number, targets: readonly LinearSpec[] = []) {
    if (!Number.isInteger(slots) || slots < 2) throw new LorakitError('LK_ARG', `MultiLoraSlots: 'slots' must be an integer >= 2, got ${slots}`);
    this.contents = Array.from({ length: slots }, () => null);
    this.addTargets(targets);
  }

  get targets(): ReadonlyMap<string, LinearSpec> { return this.targetMap; }
  get currentRank(): number { return this.rank; }
  /** Structure key for graph caching: the sorted target paths. */
  get key(): string { return [...this.targetMap.keys()].sort().join(','); }

  /** Adds modules to the target set (new slot tensors are zero; resident adapters are re-written). */
  addTargets(specs: readonly LinearSpec[]): boolean {
    const fresh = specs.filter((s) => !this.targetMap.has(s.path));
    if (fresh.length === 0) return false;
    for (const s of fresh) this.targetMap.set(s.path, s);
    this.relayout(this.rank);
    this.version++;
    return true;
  }

  /** Writes `p` into slot `slot` (memcpy per module; zero padding beyond each module's rank). */
  write(slot: number, p: PreparedAdapter): void {
    if (slot <= 0 || slot >= this.slots) throw new LorakitError('LK_ARG', `MultiLoraSlots.write: 'slot' must be in [1, ${this.slots}), got ${slot}`);
    const missing = [...p.modules.keys()].filter((k) => !this.targetMap.has(k));
    if (missing.length) {
      throw new LorakitError('LK_INTERNAL', `MultiLoraSlots.write: modules ${missing.slice(0, 3).join(', ')} are not in the target set`);
    }
    if (p.rank > this.rank) this.relayout(p.rank);
    this.contents[slot] = p;
    this.fill(slot, p);
  }

  clear(slot: number): void {
    if (slot <= 0 || slot >= this.slots) return;
    this.contents[slot] = null;
    this.fill(slot, null);
  }

  /** Feeds for every slot tensor, zero-copy. */
  feeds(): Record<string, TensorF32> {
    const out: Record<string, TensorF32> = {};
    for (const [path, s] of this.targetMap) {
      out[slotKeyA(path)] = { data: this.a.get(path)!, dims: [this.slots, this.rank, s.inFeatures] };
      out[slotKeyB(path)] = { data: this.b.get(path)!, dims: [this.slots, s.outFeatures, this.rank] };
    }
    return out;
  }

  get bytes(): number {
    let n = 0;
    for (const t of this.a.values()) n += t.byteLength;
    for (const t of this.b.values()) n += t.byteLength;
    return n;
  }

  private relayout(rank: number): void {
    this.rank = rank;
    for (const [path, s] of this.targetMap) {
      this.a.set(path, new Float32Array(this.slots * rank * s.inFeatures));
      this.b.set(path, new Float32Array(this.slots * s.outFeatures * rank));
    }
    this.contents.forEach((p, slot) => { if (p) this.fill(slot, p); });
  }

  private fill(slot: number, p: PreparedAdapter | null): void {
    const R = this.rank;
    for (const [path, s] of this.targetMap) {
      const A = this.a.get(path)!, B = this.b.get(path)!;
      const aOff = slot * R * s.inFeatures, bOff = slot * s.outFeatures * R;
      A.fill(0, aOff, aOff + R * s.inFeatures); // (R, in)
      B.fill(0, bOff, bOff + s.outFeatures * R); // (out, R)
      const m = p?.modules.get(path);
      if (!m) continue;
      A.set(m.a, aOff); // rows 0..r-1 of (R, in) are contiguous
      if (m.r === R) B.set(m.b, bOff);
      else for (let o = 0; o < s.outFeatures; o++) B.set(m.b.subarray(o * m.r, (o + 1) * m.r), bOff + o * R); // (out, r) into (out, R)
    }
  }
}
