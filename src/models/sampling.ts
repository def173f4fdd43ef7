// Next-token choice from one row of logits, in Hugging Face's order: repetition penalty → temperature → top-k →
// top-p → sample (or argmax when greedy). Works on a (V) slice; O(V log V) at most per token.
import type { Rng } from '../util/rng.js';

export interface SamplingOptions {
  /** 0 (default) = greedy. */
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  /** > 1 discourages tokens already in the sequence (CTRL, Keskar et al. 2019). */
  readonly repetitionPenalty?: number;
}

export function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Chooses the next token. `logits` is modified (penalty, temperature). */
export function sampleToken(logits: Float32Array, seen: ReadonlySet<number>, o: SamplingOptions, rng: Rng): number {
  const rp = o.repetitionPenalty ?? 1;
  if (rp !== 1) for (const t of seen) logits[t] = logits[t] < 0 ? logits[t] * rp : logits[t] / rp;
  const temp = o.temperature ?? 0;
  if (temp <= 0) return argmax(logits);
  let idx = Array.from(logits.keys());
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, logits.length) : logits.length;
  idx.sort((a, b) => logits[b] - logits[a] || a - b);
  idx = idx.slice(0, k);
  const max = logits[idx[0]];
  let probs = idx.map((i) => Math.exp((logits[i] - max) / temp));
  let z = probs.reduce((p, v) => p + v, 0);
  if (o.topP !== undefined && o.topP < 1) {
    let c = 0, keep = 0;
    while (keep < probs.length && c < o.topP * z) c += probs[keep++];
    idx = idx.slice(0, Math.max(1, keep));
    probs = probs.slice(0, Math.max(1, keep));
    z = probs.reduce((p, v) => p + v, 0);
  }
  let u = rng.next() * z;
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i];
    if (u <= 0) return idx[i];
  }
  return idx[idx.length - 1];
}
