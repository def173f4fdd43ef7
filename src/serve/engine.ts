// The continuous-batching engine: one base model, one loop. Each engine step (a) admits waiting sequences and
// prefills them together (left-padded, one session run), (b) runs ONE decode step for every running sequence
// (mixed adapters via per-row slots, different cache lengths padded into one (B, Hkv, S, D) batch with an
// attention mask), (c) samples each row with its own options and Rng, (d) drops finished or cancelled rows.
// New requests join between steps. Masked cache positions get a -3.4e38 bias, so they weigh exactly 0 after the
// softmax: padding never changes a row's result. Caches are moved with TypedArray.set only. Not an HTTP layer.
import { type CompiledGraph, compile } from '../engine/index.js';
import { LorakitError } from '../errors.js';
import type { CausalLM } from '../models/causal-lm.js';
import { buildCausalLMGraph } from '../models/graphs.js';
import { type SamplingOptions, sampleToken } from '../models/sampling.js';
import { ADAPTER_SLOT_INPUT, type MultiLoraSlots, multiLoraWrap } from '../lora/multi.js';
import { Rng } from '../util/rng.js';

export type FinishReason = 'stop' | 'length' | 'cancelled' | 'timeout' | 'error';

/** Pins an adapter in a slot while the sequence runs; acquire returns null when no slot is free right now. */
export interface SlotLease { acquire(): number | null; release(): void }

export interface SequenceRequest {
  readonly promptIds: readonly number[];
  readonly maxTokens: number;
  readonly sampling: SamplingOptions;
  readonly seed: number;
  readonly stop: readonly string[];
  readonly eos: ReadonlySet<number>;
  /** Absent = the base model (slot 0). */
  readonly lease?: SlotLease;
  /** The served model's name (adapter or base), reported per row in StepInfo. Default: 'base' or 'slot:N'. */
  readonly model?: string;
  /** New printable text (held back while a stop string could still be forming). */
  readonly onText?: (delta: string) => void;
  readonly onDone: (r: SequenceResult) => void;
}

export interface SequenceResult {
  readonly tokens: number[];
  readonly text: string;
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
  readonly error?: Error;
  readonly queueMs: number;
  readonly firstTokenMs: number;
}

export interface EngineHooks {
  onStep?(kind: 'prefill' | 'decode', rows: number, ms: number): void;
}

/** One session run as it happened: per row (batch order), the model it serves and the adapter slot it was fed. */
export interface StepInfo {
  readonly kind: 'prefill' | 'decode';
  readonly ms: number;
  readonly models: readonly string[];
  readonly slots: readonly number[];
}

export interface EngineOptions {
  readonly maxBatch: number;
  readonly decode: (ids: readonly number[]) => string;
  readonly slots?: MultiLoraSlots;
  readonly threads?: number;
  readonly hooks?: EngineHooks;
}

export class Sequence {
  readonly out: number[] = [];
  readonly seen: Set<number>;
  readonly rng: Rng;
  readonly enqueuedAt = performance.now();
  firstTokenAt = 0;
  slot = 0;
  leased = false;
  /** Tokens already in the cache (the next input's position). */
  pos = 0;
  text = '';
  emitted = 0;
  reason?: FinishReason;
  error?: Error;
  cancelled?: FinishReason;
  constructor(readonly req: SequenceRequest) {
    this.seen = new Set(req.promptIds);
    this.rng = new Rng(req.seed);
  }
}

interface BatchCache { past: Float32Array[]; mask: BigInt64Array; S: number }
interface Graphs { session: CompiledGraph; feeds: Record<string, { data: Float32Array; dims: readonly number[] }> }

export class BatchEngine {
  readonly waiting: Sequence[] = [];
  running: Sequence[] = [];
  private cache: BatchCache;
  private looping = false;
  private readonly multi = new Map<string, Promise<{ session: CompiledGraph; weightInputs: readonly string[] }>>();
  private readonly L: number;
  private readonly holdback: (s: Sequence) => number;
  steps = 0;
  idle: Promise<void> = Promise.resolve();
  private resolveIdle: (() => void) | null = null;
  private readonly stepListeners = new Set<(s: StepInfo) => void>();

  constructor(readonly lm: CausalLM, readonly o: EngineOptions) {
    this.L = lm.config.numLayers;
    this.cache = this.emptyCache();
    this.holdback = (s) => Math.max(0, ...s.req.stop.map((x) => x.length - 1));
  }

  /** Calls `fn` after every session run with the rows' composition (tests, metrics); returns the unsubscribe. */
  onStep(fn: (s: StepInfo) => void): () => void {
    this.stepListeners.add(fn);
    return () => { this.stepListeners.delete(fn); };
  }

  get queueDepth(): number { return this.waiting.length; }
  get batchSize(): number { return this.running.length; }

  submit(req: SequenceRequest): Sequence {
    const s = new Sequence(req);
    this.waiting.push(s);
    this.kick();
    return s;
  }

  /** Marks a sequence finished; it leaves the batch before the next step. */
  cancel(s: Sequence, reason: FinishReason = 'cancelled'): void {
    if (!s.reason && !s.cancelled) s.cancelled = reason;
    this.kick();
  }

  /** Compiles the graphs up front (the first request should not pay for it). */
  async warmup(): Promise<void> {
    await this.graphFor(false);
    if (this.o.slots && this.o.slots.targets.size) await this.graphFor(true);
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    this.idle = new Promise((r) => { this.resolveIdle = r; });
    setImmediate(() => void this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (this.waiting.length || this.running.length) {
        await this.step();
        await new Promise((r) => setImmediate(r)); // let HTTP in between steps
      }
    } finally {
      this.looping = false;
      this.resolveIdle?.();
    }
  }

  private emptyCache(): BatchCache {
    return { past: Array.from({ length: 2 * this.L }, () => new Float32Array(0)), mask: new BigInt64Array(0), S: 0 };
  }

  private async graphFor(useSlots: boolean): Promise<Graphs> {
    const slots = this.o.slots;
    if (!useSlots || !slots) {
      const { session, weightInputs } = await this.lm.graph({ mode: 'decode' });
      return { session, feeds: this.lm.weightFeeds(weightInputs) as Graphs['feeds'] };
    }
    for (;;) {
      const key = slots.key;
      let p = this.multi.get(key);
      if (!p) {
        const targets = new Map(slots.targets);
        p = (async () => {
          // With bakeDecodeWeights the frozen base weights are initializers that ORT prepacks (README: engine figures).
          const constants = this.lm.options.bakeDecodeWeights ? this.lm.weights : undefined;
          const built = buildCausalLMGraph(this.lm.config, {
            mode: 'decode', shapes: this.lm.shapes, wrapLinear: multiLoraWrap(targets, slots.slots), constants, quant: this.lm.options.quant,
            name: `multi_lora_decode_${targets.size}`,
          });
          return { session: await compile(built.graph, { threads: this.o.threads ?? this.lm.options.threads }), weightInputs: built.weightInputs };
        })();
        this.multi.set(key, p);
        p.catch(() => this.multi.delete(key));
      }
      const { session, weightInputs } = await p;
      if (slots.key !== key) continue; // an adapter added target modules while this graph compiled
      return { session, feeds: { ...(this.lm.weightFeeds(weightInputs) as Graphs['feeds']), ...slots.feeds() } };
    }
  }

  private async step(): Promise<void> {
    // (d) first: cancelled or timed-out sequences leave (waiting ones never started).
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const s = this.waiting[i];
      if (s.cancelled) { this.waiting.splice(i, 1); this.finish(s, s.cancelled); }
    }
    if (this.running.some((s) => s.cancelled)) this.retain(this.running.filter((s) => !s.cancelled), (s) => this.finish(s, s.cancelled!));
    // (a) admit: FIFO, skipping requests whose adapter has no free slot right now.
    const admitted: Sequence[] = [];
    for (let i = 0; i < this.waiting.length && this.running.length + admitted.length < this.o.maxBatch;) {
      const s = this.waiting[i];
      const slot = s.req.lease ? s.req.lease.acquire() : 0;
      if (slot === null) { i++; continue; }
      s.slot = slot;
      s.leased = !!s.req.lease;
      this.waiting.splice(i, 1);
      admitted.push(s);
    }
    try {
      if (admitted.length) await this.prefill(admitted);
      // (b) one decode step for every running sequence (those just prefilled feed their first token).
      if (this.running.length) await this.decodeStep();
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const s of [...this.running, ...admitted.filter((x) => !x.reason)]) { s.error = err; this.finish(s, 'error'); }
      this.running = [];
      this.cache = this.emptyCache();
    }
  }

  private async prefill(rows: Sequence[]): Promise<void> {
    const t0 = performance.now();
    const B = rows.length, T = Math.max(...rows.map((s) => s.req.promptIds.length));
    const ids = new BigInt64Array(B * T), pos = new BigInt64Array(B * T), mask = new BigInt64Array(B * T);
    rows.forEach((s, b) => { // left-padded: the last position of every row is real
      const p = s.req.promptIds, off = T - p.length;
      for (let j = 0; j < p.length; j++) { ids[b * T + off + j] = BigInt(p[j]); pos[b * T + off + j] = BigInt(j); mask[b * T + off + j] = 1n; }
      s.pos = p.length;
    });
    const r = await this.run(rows, ids, pos, mask, T, this.emptyCache());
    this.reportStep('prefill', rows, performance.now() - t0);
    const part: BatchCache = { past: r.present, mask, S: T };
    const keep = this.sample(rows, r.logits);
    // (d) rows that finished on their first token never join; the rest are merged into the running batch.
    const old = this.cache;
    this.cache = this.rebuild([...this.running.map((_, b) => ({ c: old, row: b })), ...keep.map((b) => ({ c: part, row: b }))]);
    this.running = [...this.running, ...keep.map((b) => rows[b])];
  }

  private async decodeStep(): Promise<void> {
    const t0 = performance.now();
    const rows = this.running, B = rows.length, { S } = this.cache;
    const ids = BigInt64Array.from(rows, (s) => BigInt(s.out[s.out.length - 1]));
    const pos = BigInt64Array.from(rows, (s) => BigInt(s.pos++));
    const mask = new BigInt64Array(B * (S + 1)); // (B, S+1): each row's valid cache positions + the new token
    for (let b = 0; b < B; b++) {
      mask.set(this.cache.mask.subarray(b * S, (b + 1) * S), b * (S + 1));
      mask[b * (S + 1) + S] = 1n;
    }
    const r = await this.run(rows, ids, pos, mask, 1, this.cache);
    this.steps++;
    this.reportStep('decode', rows, performance.now() - t0);
    this.cache = { past: r.present, mask, S: S + 1 };
    const keep = this.sample(rows, r.logits);
    if (keep.length < B) this.retain(keep.map((b) => rows[b]));
  }

  /** One session run over `rows`: input (B, T), cache (B, Hkv, P, D); returns last-position logits and the grown cache. */
  private async run(
    rows: Sequence[], ids: BigInt64Array, pos: BigInt64Array, mask: BigInt64Array, T: number, past: BatchCache,
  ): Promise<{ logits: Float32Array; present: Float32Array[] }> {
    const B = rows.length, { numKvHeads: nkv, headDim: hd } = this.lm.config;
    const useSlots = rows.some((s) => s.slot > 0);
    const g = await this.graphFor(useSlots);
    const feeds: Record<string, { data: Float32Array | BigInt64Array; dims: readonly number[] }> = {
      ...g.feeds, input_ids: { data: ids, dims: [B, T] }, position_ids: { data: pos, dims: [B, T] },
      attention_mask: { data: mask, dims: [B, past.S + T] },
    };
    if (useSlots) feeds[ADAPTER_SLOT_INPUT] = { data: BigInt64Array.from(rows, (s) => BigInt(s.slot)), dims: [B] };
    for (let i = 0; i < this.L; i++) {
      feeds[`past_key_values.${i}.key`] = { data: past.past[2 * i], dims: [B, nkv, past.S, hd] };
      feeds[`past_key_values.${i}.value`] = { data: past.past[2 * i + 1], dims: [B, nkv, past.S, hd] };
    }
    const r = await g.session.run(feeds);
    return {
      logits: r.logits.data as Float32Array,
      present: Array.from(
        { length: 2 * this.L },
        (_, j) => r[`present.${j >> 1}.${j & 1 ? 'value' : 'key'}`].data as Float32Array,
      ),
    };
  }

  /** Hooks and listeners; `rows` are exactly the rows just fed to the session (their slots = the adapter_slot feed). */
  private reportStep(kind: 'prefill' | 'decode', rows: readonly Sequence[], ms: number): void {
    this.o.hooks?.onStep?.(kind, rows.length, ms);
    if (this.stepListeners.size === 0) return;
    const models = rows.map((s) => s.req.model ?? (s.slot === 0 ? 'base' : `slot:${s.slot}`));
    const info: StepInfo = { kind, ms, models, slots: rows.map((s) => s.slot) };
    for (const fn of this.stepListeners) {
      try { fn(info); } catch { /* an observer's bug must not fail the batch's sequences */ }
    }
  }

  /** (c) per-row sampling; returns the batch indices that keep running. */
  private sample(rows: Sequence[], logits: Float32Array): number[] {
    const V = this.lm.config.vocabSize, keep: number[] = [];
    rows.forEach((s, b) => {
      if (s.cancelled) { this.finish(s, s.cancelled); return; }
      const tok = sampleToken(logits.subarray(b * V, (b + 1) * V), s.seen, s.req.sampling, s.rng);
      if (!s.firstTokenAt) s.firstTokenAt = performance.now();
      if (s.req.eos.has(tok)) { this.finish(s, 'stop'); return; }
      s.out.push(tok);
      s.seen.add(tok);
      if (this.advanceText(s)) { this.finish(s, 'stop'); return; }
      if (s.out.length >= s.req.maxTokens) { this.finish(s, 'length'); return; }
      keep.push(b);
    });
    return keep;
  }

  /** Decodes the continuation, emits what can no longer be part of a stop string; true when a stop string hit. */
  private advanceText(s: Sequence): boolean {
    s.text = this.o.decode(s.out);
    if (s.req.stop.length) {
      const hits = s.req.stop.map((x) => s.text.indexOf(x)).filter((i) => i >= 0);
      if (hits.length) { s.text = s.text.slice(0, Math.min(...hits)); return true; }
    }
    let upto = s.text.length - this.holdback(s);
    while (upto > s.emitted && s.text.charCodeAt(upto - 1) === 0xfffd) upto--; // a UTF-8 character still split
    if (upto > s.emitted) { s.req.onText?.(s.text.slice(s.emitted, upto)); s.emitted = upto; }
    return false;
  }

  private finish(s: Sequence, reason: FinishReason): void {
    if (s.reason) return;
    s.reason = reason;
    if (s.leased) { s.leased = false; s.req.lease?.release(); }
    if (reason !== 'error' && s.text.length > s.emitted) { s.req.onText?.(s.text.slice(s.emitted)); s.emitted = s.text.length; }
    const now = performance.now();
    s.req.onDone({
      tokens: s.out, text: s.text, finishReason: reason, promptTokens: s.req.promptIds.length, error: s.error,
      queueMs: now - s.enqueuedAt, firstTokenMs: s.firstTokenAt ? s.firstTokenAt - s.enqueuedAt : 0,
    });
  }

  /** Keeps only `rows` of the running batch (compacting the cache); `dropped` is told about the others. */
  private retain(rows: Sequence[], dropped?: (s: Sequence) => void): void {
    const keep = new Set(rows);
    const idx: number[] = [];
    this.running.forEach((s, b) => { if (keep.has(s)) idx.push(b); else dropped?.(s); });
    const c = this.cache;
    this.cache = this.rebuild(idx.map((b) => ({ c, row: b })));
    this.running = idx.map((b) => this.running[b]);
  }

  /**
   * New batch cache from rows of existing caches: each row's valid positions (mask = 1) are copied to the front,
   * S = the longest row. memcpy per (layer, k/v, head, run of valid positions).
   */
  private rebuild(src: readonly { c: BatchCache; row: number }[]): BatchCache {
    const { numKvHeads: nkv, headDim: hd } = this.lm.config;
    const runs = src.map(({ c, row }) => {
      const out: [number, number][] = [];
      for (let t = 0; t < c.S;) {
        if (c.mask[row * c.S + t] !== 1n) { t++; continue; }
        let e = t;
        while (e < c.S && c.mask[row * c.S + e] === 1n) e++;
        out.push([t, e]);
        t = e;
      }
      return out;
    });
    const lens = runs.map((r) => r.reduce((p, [a, b]) => p + b - a, 0));
    const S = Math.max(0, ...lens), B = src.length;
    if (B === 0) return this.emptyCache();
    const mask = new BigInt64Array(B * S);
    lens.forEach((n, j) => mask.fill(1n, j * S, j * S + n));
    const past = Array.from({ length: 2 * this.L }, (_, k) => {
      const dst = new Float32Array(B * nkv * S * hd); // (B, Hkv, S, D)
      src.forEach(({ c, row }, j) => {
        const from = c.past[k];
        for (let h = 0; h < nkv; h++) {
          let d = 0;
          for (const [a, e] of runs[j]) {
            const so = ((row * nkv + h) * c.S + a) * hd;
            dst.set(from.subarray(so, so + (e - a) * hd), ((j * nkv + h) * S + d) * hd);
            d += e - a;
          }
        }
      });
      return dst;
    });
    if (mask.length !== B * S) throw new LorakitError('LK_INTERNAL', 'engine: rebuilt mask has the wrong size');
    return { past, mask, S };
  }
}
