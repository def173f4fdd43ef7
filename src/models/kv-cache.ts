// The attention plumbing every decoder forward shares: the past length (a run-time scalar), the additive attention
// bias over past + current keys, and each layer's cache grown by this step's keys and values.
import { type Sym, attentionBias, concat, dimOf } from '../engine/index.js';
import type { CausalLMInputs } from './architecture.js';

export interface DecoderCache {
  /** (B, 1, T, P+T): causal, padding, segment and sliding-window masking in one bias. */
  readonly bias: Sym;
  /** Layer i's k, v (B, Hkv, T, D) with its past prepended (B, Hkv, P+T, D), recorded as that layer's present. */
  extend(i: number, k: Sym, v: Sym): { key: Sym; value: Sym };
  /** The grown caches when decoding (io.past given), else undefined. */
  present(): readonly { key: Sym; value: Sym }[] | undefined;
}

export function decoderCache(io: CausalLMInputs, slidingWindow?: number): DecoderCache {
  const g = io.inputIds.graph;
  const past0 = io.past?.[0]?.key;
  const pastLen = past0 ? dimOf(past0, 2) : g.scalar(0, 'int64');
  const bias = attentionBias({
    queryLen: io.inputIds.shape[1], keyLen: io.attentionMask.shape[1], past: pastLen, keyMask: io.attentionMask,
    segments: io.segmentIds, slidingWindow,
  });
  const grown: { key: Sym; value: Sym }[] = [];
  return {
    bias,
    extend(i, k, v) {
      const past = io.past?.[i];
      if (!past) return { key: k, value: v };
      const kv = { key: concat([past.key, k], 2), value: concat([past.value, v], 2) };
      grown.push(kv);
      return kv;
    },
    present: () => (io.past ? grown : undefined),
  };
}
