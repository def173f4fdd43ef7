// Perplexity of a long token sequence with a sliding window (as in HF's perplexity guide): each window of `window`
// tokens scores only its last `stride` new tokens, the rest serve as context. Windows run in batches.
import type { CausalLM, LinearAdapter } from './causal-lm.js';
import { makeScoreBatch } from './causal-lm.js';

export interface PerplexityResult { readonly perplexity: number; readonly nll: number; readonly scored: number }

export async function perplexity(
  lm: CausalLM,
  ids: readonly number[],
  o: {
    window: number;
    stride: number;
    batchSize?: number;
    adapter?: LinearAdapter;
    onProgress?: (done: number) => void;
  },
): Promise<PerplexityResult> {
  // Window w covers [begin, end); targets are positions [max(begin+1, prevEnd), end).
  const windows: { seq: number[]; mask: boolean[]; end: number }[] = [];
  let prevEnd = 0;
  for (let begin = 0; prevEnd < ids.length; begin += o.stride) {
    const end = Math.min(begin + o.window, ids.length);
    const seq = ids.slice(begin, end);
    const mask = seq.map((_, i) => begin + i >= Math.max(begin + 1, prevEnd));
    windows.push({ seq, mask, end });
    prevEnd = end;
    if (end === ids.length) break;
  }
  let nll = 0, scored = 0;
  const bs = o.batchSize ?? 4;
  for (let i = 0; i < windows.length; i += bs) {
    const group = windows.slice(i, i + bs);
    const r = await lm.scoreBatch(makeScoreBatch(group.map((w) => w.seq), 0, group.map((w) => w.mask)), { adapter: o.adapter });
    nll += r.lossSum;
    scored += r.tokenCount;
    o.onProgress?.(group[group.length - 1].end);
  }
  const mean = scored > 0 ? nll / scored : NaN;
  return { perplexity: Math.exp(mean), nll: mean, scored };
}
