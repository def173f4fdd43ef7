// Batched generation with a KV cache: prompts are left-padded into one batch, the prefill runs the prompts in one
// pass, each decode step feeds only the new token per row. Finished rows leave the batch (their cache rows are
// dropped) so the remaining rows decode at the smaller batch size.
import { LorakitError } from '../errors.js';
import { Rng } from '../util/rng.js';
import type { CausalLM, LinearAdapter } from './causal-lm.js';
import { type SamplingOptions, sampleToken } from './sampling.js';

export interface GenerateOptions extends SamplingOptions {
  readonly maxNewTokens: number;
  readonly eosTokenIds?: readonly number[];
  readonly padTokenId?: number;
  readonly seed?: number;
  /** Stop strings: generation ends when the decoded continuation contains one (it is cut off). */
  readonly stop?: readonly string[];
  /** Needed with `stop`: turns token ids into text. */
  readonly decode?: (ids: readonly number[]) => string;
  readonly adapter?: LinearAdapter;
  /** Called for every accepted token of row `row` (streaming). Returning false cancels that row. */
  readonly onToken?: (row: number, token: number) => boolean | void;
  readonly signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface GenerateResult {
  readonly tokens: number[][];
  readonly finishReasons: FinishReason[];
  readonly text?: string[];
  readonly promptTokens: number;
  readonly prefillMs: number;
  readonly decodeMs: number;
  readonly decodeSteps: number;
}

interface Row {
  readonly index: number;
  readonly prompt: readonly number[];
  readonly out: number[];
  readonly seen: Set<number>;
  lastPos: number;
  reason?: FinishReason;
  text?: string;
}

export async function generate(lm: CausalLM, prompts: readonly (readonly number[])[], o: GenerateOptions): Promise<GenerateResult> {
  if (prompts.length === 0) return { tokens: [], finishReasons: [], promptTokens: 0, prefillMs: 0, decodeMs: 0, decodeSteps: 0 };
  if (prompts.some((p) => p.length === 0)) throw new LorakitError('LK_ARG', 'generate: every prompt needs at least one token');
  const cfg = lm.config;
  const maxLen = Math.max(...prompts.map((p) => p.length)) + o.maxNewTokens;
  if (maxLen > cfg.maxPositionEmbeddings) {
    throw new LorakitError(
      'LK_SEQ_TOO_LONG',
      `generate: prompt + max_new_tokens = ${maxLen} tokens exceeds max_position_embeddings ${cfg.maxPositionEmbeddings}`,
    );
  }
  if (cfg.slidingWindow && maxLen > cfg.slidingWindow) {
    throw new LorakitError(
      'LK_SEQ_TOO_LONG',
      `generate: ${maxLen} tokens exceed sliding_window ${cfg.slidingWindow}; attention beyond the window is not implemented with the KV cache`,
    );
  }
  const rng = new Rng(o.seed ?? 0);
  const eos = new Set(o.eosTokenIds ?? []);
  const pad = o.padTokenId ?? (o.eosTokenIds?.[0] ?? 0);
  const { session, weightInputs } = await lm.graph({ mode: 'decode' }, o.adapter);
  const weightFeeds = lm.weightFeeds(weightInputs, o.adapter);
  const L = cfg.numLayers, nkv = cfg.numKvHeads, hd = cfg.headDim, V = cfg.vocabSize;

  let rows: Row[] = prompts.map((p, index) => ({ index, prompt: p, out: [], seen: new Set(p), lastPos: p.length - 1 }));
  // Prefill: left-pad to the longest prompt.
  const T0 = Math.max(...prompts.map((p) => p.length));
  let B = rows.length;
  let ids = new BigInt64Array(B * T0).fill(BigInt(pad)), pos = new BigInt64Array(B * T0);
  let mask = new BigInt64Array(B * T0);
  rows.forEach((r, b) => {
    const off = T0 - r.prompt.length;
    r.prompt.forEach((t, j) => {
      ids[b * T0 + off + j] = BigInt(t);
      mask[b * T0 + off + j] = 1n;
      pos[b * T0 + off + j] = BigInt(j);
    });
  });
  let S = 0; // cache length
  let past: Float32Array[] = Array.from({ length: 2 * L }, () => new Float32Array(0));
  // The grown cache is written by ORT straight into one of two preallocated arenas per tensor (ping-pong: a step
  // reads the other one), so no step allocates or copies the cache on the JS side.
  const cacheMax = rows.length * nkv * maxLen * hd;
  const arenas = [0, 1].map(() => Array.from({ length: 2 * L }, () => new Float32Array(cacheMax)));
  const presentNames = Array.from({ length: 2 * L }, (_, j) => `present.${j >> 1}.${j & 1 ? 'value' : 'key'}`);
  let T = T0;
  const t0 = performance.now();
  let prefillMs = 0, steps = 0;
  const finished: Row[] = [];
  for (;;) {
    const feeds: Record<string, { data: Float32Array | BigInt64Array; dims: number[] }> = {
      ...weightFeeds,
      input_ids: { data: ids, dims: [B, T] },
      position_ids: { data: pos, dims: [B, T] },
      attention_mask: { data: mask, dims: [B, S + T] },
    };
    for (let i = 0; i < L; i++) {
      feeds[`past_key_values.${i}.key`] = { data: past[2 * i], dims: [B, nkv, S, hd] };
      feeds[`past_key_values.${i}.value`] = { data: past[2 * i + 1], dims: [B, nkv, S, hd] };
    }
    const size = B * nkv * (S + T) * hd;
    const into = Object.fromEntries(presentNames.map((n, j) => [n, arenas[steps & 1][j].subarray(0, size)]));
    const r = await session.run(feeds, into);
    if (steps === 0) prefillMs = performance.now() - t0;
    steps++;
    S += T;
    past = presentNames.map((n) => r[n].data as Float32Array);
    const logits = r.logits.data as Float32Array; // (B, V)
    const keep: number[] = [];
    rows.forEach((row, b) => {
      const tok = sampleToken(logits.subarray(b * V, (b + 1) * V), row.seen, o, rng);
      if (eos.has(tok)) { row.reason = 'stop'; return; }
      row.out.push(tok);
      row.seen.add(tok);
      if (o.onToken?.(row.index, tok) === false || o.signal?.aborted) { row.reason = 'cancelled'; return; }
      if (o.stop?.length && o.decode) {
        const text = o.decode(row.out);
        const hit = o.stop.map((s) => text.indexOf(s)).filter((i) => i >= 0);
        if (hit.length) { row.text = text.slice(0, Math.min(...hit)); row.reason = 'stop'; return; }
      }
      if (row.out.length >= o.maxNewTokens) { row.reason = 'length'; return; }
      keep.push(b);
    });
    for (const row of rows) if (row.reason) finished.push(row);
    if (keep.length === 0) break;
    if (keep.length < B) {
      // Drop finished rows from the cache: each row's block is contiguous in (B, nkv, S, hd).
      const rowSize = nkv * S * hd;
      past = past.map((p) => {
        const q = new Float32Array(keep.length * rowSize);
        keep.forEach((b, j) => q.set(p.subarray(b * rowSize, (b + 1) * rowSize), j * rowSize));
        return q;
      });
      const oldMask = mask, oldS = S;
      mask = new BigInt64Array(keep.length * oldS);
      keep.forEach((b, j) => mask.set(oldMask.subarray(b * oldS, (b + 1) * oldS), j * oldS));
      rows = keep.map((b) => rows[b]);
    }
    B = rows.length;
    T = 1;
    ids = BigInt64Array.from(rows, (row) => BigInt(row.out[row.out.length - 1]));
    pos = BigInt64Array.from(rows, (row) => BigInt(++row.lastPos));
    const grown = new BigInt64Array(B * (S + 1));
    for (let b = 0; b < B; b++) {
      grown.set(mask.subarray(b * S, (b + 1) * S), b * (S + 1));
      grown[b * (S + 1) + S] = 1n;
    }
    mask = grown;
  }
  const all = finished.sort((a, b) => a.index - b.index);
  return {
    tokens: all.map((r) => r.out),
    finishReasons: all.map((r) => r.reason!),
    text: o.decode ? all.map((r) => r.text ?? o.decode!(r.out)) : undefined,
    promptTokens: prompts.reduce((p, x) => p + x.length, 0),
    prefillMs,
    decodeMs: performance.now() - t0 - prefillMs,
    decodeSteps: steps - 1,
  };
}

/** Greedy generation that recomputes the full sequence every step (no cache): the reference the cache must match. */
export async function generateNoCache(
  lm: CausalLM, prompt: readonly number[], maxNewTokens: number, adapter?: LinearAdapter,
  onStep?: (logits: Float32Array, chosen: number) => void,
): Promise<number[]> {
  const seq = [...prompt];
  for (let i = 0; i < maxNewTokens; i++) {
    const r = await lm.score([seq], { logits: true, adapter });
    const V = lm.config.vocabSize, T = seq.length;
    const last = r.logits!.subarray((T - 1) * V, T * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
    onStep?.(last, best);
    seq.push(best);
  }
  return seq.slice(prompt.length);
}
