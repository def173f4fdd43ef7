// Byte-level BPE training (GPT-2 / HF `BpeTrainer` semantics): texts are split with the GPT-2 pre-tokenizer regex,
// each piece's UTF-8 bytes are mapped through bytesToUnicode, identical pieces are counted once ("word types"), and
// the most frequent adjacent symbol pair is merged until the vocabulary is full. Pair counts live in one table that
// is updated incrementally for the word types a merge touches (never a rescan of the corpus), and a lazy max-heap
// picks the next pair. Ties go to the pair whose merged string is smaller (then the smaller left part), so training
// is deterministic. Not a tokenizer: encoding is done by the tokenizer.json this produces (tokenizer.ts).
import { LorakitError } from '../../errors.js';
import { bytesToUnicode, byteLevelTokenizerJson } from './byte-level.js';

/** GPT-2's pre-tokenizer pattern (the same the HF ByteLevel pre-tokenizer uses with `use_regex: true`). */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface BpeTrainOptions {
  /** Final vocabulary size: 256 byte symbols + merged symbols + special tokens. */
  readonly vocabSize: number;
  /** Special tokens, appended after the merged symbols in this order (e.g. '<|endoftext|>'). */
  readonly specialTokens?: readonly string[];
  /** A pair must occur at least this often to be merged (default 2). */
  readonly minFrequency?: number;
  /** Called every ~256 merges. */
  readonly onProgress?: (merges: number, target: number) => void;
}

export interface BpeModel {
  /** Merges in rank order, as pairs of byte-level symbol strings. */
  readonly merges: [string, string][];
  readonly specialTokens: readonly string[];
  /** Symbols in id order (bytes, merged symbols; specials follow). */
  readonly symbols: readonly string[];
  /** Distinct pre-tokenized pieces and their total count. */
  readonly wordTypes: number;
  readonly words: number;
  /** Number of ids including the special tokens. */
  readonly vocabSize: number;
}

/** Counts pre-tokenized pieces (as byte-level strings) over `texts`. */
export function countWords(texts: Iterable<string>): Map<string, number> {
  const alphabet = bytesToUnicode();
  const enc = new TextEncoder();
  const raw = new Map<string, number>();
  for (const text of texts) {
    for (const m of text.matchAll(GPT2_PATTERN)) raw.set(m[0], (raw.get(m[0]) ?? 0) + 1);
  }
  // Map to the byte alphabet once per distinct piece, not per occurrence.
  const out = new Map<string, number>();
  for (const [piece, n] of raw) {
    let s = '';
    for (const b of enc.encode(piece)) s += alphabet[b];
    out.set(s, (out.get(s) ?? 0) + n);
  }
  return out;
}

/** Max-heap of (count, key) with lazy deletion: stale entries are skipped when popped. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  constructor(private readonly before: (ka: number, kb: number) => boolean) {}
  get size(): number { return this.counts.length; }
  private better(i: number, j: number): boolean {
    const ci = this.counts[i], cj = this.counts[j];
    return ci > cj || (ci === cj && this.before(this.keys[i], this.keys[j]));
  }
  private swap(i: number, j: number): void {
    const c = this.counts[i]; this.counts[i] = this.counts[j]; this.counts[j] = c;
    const k = this.keys[i]; this.keys[i] = this.keys[j]; this.keys[j] = k;
  }
  push(count: number, key: number): void {
    this.counts.push(count); this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) { const p = (i - 1) >> 1; if (!this.better(i, p)) break; this.swap(i, p); i = p; }
  }
  pop(): [number, number] | undefined {
    if (this.counts.length === 0) return undefined;
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const c = this.counts.pop()!, k = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = c; this.keys[0] = k;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let b = i;
        if (l < this.counts.length && this.better(l, b)) b = l;
        if (r < this.counts.length && this.better(r, b)) b = r;
        if (b === i) break;
        this.swap(i, b); i = b;
      }
    }
    return top;
  }
}

const PAIR = 1 << 20; // symbol ids stay below 2^20, so a pair key a·2^20 + b is an exact double

/** Learns merges from word counts (see countWords). */
export function trainBpeFromCounts(wordCounts: ReadonlyMap<string, number>, o: BpeTrainOptions): BpeModel {
  const specials = o.specialTokens ?? [];
  const minFreq = o.minFrequency ?? 2;
  if (!Number.isInteger(o.vocabSize) || o.vocabSize < 256 + specials.length || o.vocabSize >= PAIR) {
    throw new LorakitError(
      'LK_ARG',
      `'vocabSize' must be an integer in [${256 + specials.length}, ${PAIR}) (256 bytes + ${specials.length} special tokens), got ${o.vocabSize}`,
    );
  }
  const targetSymbols = o.vocabSize - specials.length;
  const symbols: string[] = [...bytesToUnicode()];
  const idOf = new Map<string, number>(symbols.map((s, i) => [s, i]));

  // Word types as symbol-id arrays (mutable), with their counts.
  const words: number[][] = [];
  const freq: number[] = [];
  let total = 0;
  for (const [w, n] of wordCounts) {
    words.push([...w].map((ch) => idOf.get(ch)!));
    freq.push(n);
    total += n;
  }

  const counts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  for (let wi = 0; wi < words.length; wi++) {
    const w = words[wi], n = freq[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const k = w[i] * PAIR + w[i + 1];
      counts.set(k, (counts.get(k) ?? 0) + n);
      let s = where.get(k);
      if (!s) where.set(k, (s = new Set()));
      s.add(wi);
    }
  }
  // Tie-break: merged string, then left symbol, compared by code unit (deterministic, independent of Map order).
  const before = (ka: number, kb: number): boolean => {
    const a0 = symbols[Math.floor(ka / PAIR)], a1 = symbols[ka % PAIR], b0 = symbols[Math.floor(kb / PAIR)], b1 = symbols[kb % PAIR];
    const sa = a0 + a1, sb = b0 + b1;
    return sa !== sb ? sa < sb : a0 < b0;
  };
  const heap = new PairHeap(before);
  for (const [k, c] of counts) heap.push(c, k);

  const merges: [string, string][] = [];
  const changed = new Set<number>();
  while (symbols.length < targetSymbols && heap.size > 0) {
    const [c, k] = heap.pop()!;
    if (counts.get(k) !== c) continue; // stale entry
    if (c < minFreq) break;
    const a = Math.floor(k / PAIR), b = k % PAIR;
    const str = symbols[a] + symbols[b];
    let id = idOf.get(str);
    if (id === undefined) { id = symbols.length; symbols.push(str); idOf.set(str, id); }
    merges.push([symbols[a], symbols[b]]);
    changed.clear();
    for (const wi of where.get(k) ?? []) {
      const w = words[wi], n = freq[wi];
      let hit = false;
      for (let i = 0; i + 1 < w.length; i++) if (w[i] === a && w[i + 1] === b) { hit = true; break; }
      if (!hit) continue;
      // Remove the word's old pairs, merge left to right, add its new pairs.
      for (let i = 0; i + 1 < w.length; i++) { const p = w[i] * PAIR + w[i + 1]; counts.set(p, counts.get(p)! - n); changed.add(p); }
      const merged: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) { merged.push(id); i++; } else merged.push(w[i]);
      }
      words[wi] = merged;
      for (let i = 0; i + 1 < merged.length; i++) {
        const p = merged[i] * PAIR + merged[i + 1];
        counts.set(p, (counts.get(p) ?? 0) + n);
        changed.add(p);
        let s = where.get(p);
        if (!s) where.set(p, (s = new Set()));
        s.add(wi);
      }
    }
    where.delete(k);
    for (const p of changed) {
      const cp = counts.get(p)!;
      if (cp > 0) heap.push(cp, p); else { counts.delete(p); }
    }
    if (merges.length % 256 === 0) o.onProgress?.(merges.length, targetSymbols - 256);
  }
  return { merges, specialTokens: [...specials], symbols, wordTypes: words.length, words: total, vocabSize: symbols.length + specials.length };
}

/** Counts words in `texts` and learns merges. */
export function trainBpe(texts: Iterable<string>, o: BpeTrainOptions): BpeModel {
  return trainBpeFromCounts(countWords(texts), o);
}

/** The HF tokenizer.json of a trained model. */
export function bpeTokenizerJson(m: BpeModel): Record<string, unknown> {
  return byteLevelTokenizerJson(m.merges, m.specialTokens);
}
