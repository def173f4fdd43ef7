// Per-item scores of one model (base, or base + adapter): summed NLL and token counts of text windows, log-
// likelihoods of multiple-choice continuations, and greedy generations checked against expected answers.
// Everything is batched through CausalLM.scoreBatch / generate; the JS loops here are O(tokens), never O(hidden).
import { LorakitError } from '../errors.js';
import { type CausalLM, type LinearAdapter, makeScoreBatch } from '../models/causal-lm.js';
import { generate } from '../models/generate.js';
import type { Tokenizer } from '../models/tokenizer.js';
import type { ChoiceItem, GenerationItem } from './sources.js';
import type { GenerationTask } from './types.js';

export interface WindowScore { readonly doc: number; readonly nll: number; readonly tokens: number }

interface Row { readonly seq: readonly number[]; readonly mask: readonly boolean[] }

/** Scores rows (targets where mask[t] is true, t >= 1) in batches; returns -Σ log p and the target count per row. */
async function scoreRows(
  lm: CausalLM,
  rows: readonly Row[],
  batchSize: number,
  adapter: LinearAdapter | undefined,
  onBatch?: (done: number) => void,
): Promise<{ nll: number; tokens: number }[]> {
  const out: { nll: number; tokens: number }[] = [];
  for (let i = 0; i < rows.length; i += batchSize) {
    const group = rows.slice(i, i + batchSize);
    const batch = makeScoreBatch(group.map((r) => r.seq), 0, group.map((r) => r.mask));
    const r = await lm.scoreBatch(batch, { adapter });
    const T = batch.seq;
    group.forEach((row, b) => {
      let nll = 0, tokens = 0;
      // token_logprobs[b, t] = log p(seq[t+1] | seq[≤t]).
      for (let t = 0; t + 1 < row.seq.length; t++) if (row.mask[t + 1]) { nll -= r.tokenLogprobs[b * T + t]; tokens++; }
      out.push({ nll, tokens });
    });
    onBatch?.(Math.min(rows.length, i + batchSize));
  }
  return out;
}

/**
 * Sliding-window NLL of each document, as models/perplexity.ts computes it (HF's perplexity guide): each window
 * of `window` tokens scores only the tokens not scored by the previous window. Returns one entry per window.
 */
export async function scoreTexts(
  lm: CausalLM,
  docs: readonly (readonly number[])[],
  o: {
    window: number;
    stride: number;
    batchSize?: number;
    adapter?: LinearAdapter;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<WindowScore[]> {
  const rows: (Row & { doc: number })[] = [];
  docs.forEach((ids, doc) => {
    let prevEnd = 0;
    for (let begin = 0; prevEnd < ids.length; begin += o.stride) {
      const end = Math.min(begin + o.window, ids.length);
      const from = Math.max(begin + 1, prevEnd);
      rows.push({ doc, seq: ids.slice(begin, end), mask: Array.from({ length: end - begin }, (_, i) => begin + i >= from) });
      prevEnd = end;
      if (end === ids.length) break;
    }
  });
  const scores = await scoreRows(lm, rows, o.batchSize ?? 8, o.adapter, (d) => o.onProgress?.(d, rows.length));
  return scores.map((s, i) => ({ doc: rows[i].doc, ...s }));
}

export interface ChoiceScore {
  /** Σ log p(continuation tokens | context) per choice. */
  readonly lls: number[];
  readonly pred: number;
  readonly predNorm: number;
}

/** The index of the largest value; the first one on ties (numpy's argmax, as evaluation harnesses use). */
function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * Multiple choice by log-likelihood, as lm-evaluation-harness does it: the continuation is delimiter + choice;
 * trailing spaces of the context move into the continuation; continuation tokens are encode(context +
 * continuation) past the length of encode(context). acc picks the largest Σ log p; acc_norm the largest
 * Σ log p / (characters of the continuation).
 */
export async function scoreChoices(
  lm: CausalLM,
  tok: Tokenizer,
  items: readonly ChoiceItem[],
  o: {
    delimiter: string;
    batchSize?: number;
    adapter?: LinearAdapter;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<ChoiceScore[]> {
  const rows: Row[] = [], lengths: number[] = [];
  const fallbackCtx = tok.bosTokenId ?? tok.eosTokenIds[0];
  for (const item of items) {
    for (const choice of item.choices) {
      let context = item.context, cont = o.delimiter + choice;
      const trailing = context.length - context.trimEnd().length;
      if (trailing > 0) { cont = context.slice(context.length - trailing) + cont; context = context.slice(0, context.length - trailing); }
      let ctx = tok.encode(context);
      const whole = tok.encode(context + cont);
      const contIds = whole.slice(ctx.length);
      if (ctx.length === 0) {
        if (fallbackCtx === undefined) {
          throw new LorakitError('LK_EVAL', 'a choice item has an empty context and the tokenizer has no BOS/EOS token to condition on');
        }
        ctx = [fallbackCtx];
      }
      if (contIds.length === 0) {
        throw new LorakitError(
          'LK_EVAL',
          `choice ${JSON.stringify(choice)} of context ${JSON.stringify(item.context.slice(0, 60))} encodes to no tokens`,
        );
      }
      const seq = [...ctx, ...contIds];
      rows.push({ seq, mask: seq.map((_, i) => i >= ctx.length) });
      lengths.push(cont.length);
    }
  }
  const scores = await scoreRows(lm, rows, o.batchSize ?? 16, o.adapter, (d) => o.onProgress?.(d, rows.length));
  const out: ChoiceScore[] = [];
  let k = 0;
  for (const item of items) {
    const lls = item.choices.map((_, j) => -scores[k + j].nll);
    const norm = lls.map((ll, j) => ll / lengths[k + j]);
    k += item.choices.length;
    out.push({ lls, pred: argmax(lls), predNorm: argmax(norm) });
  }
  return out;
}

export interface GenerationScore { readonly output: string; readonly correct: boolean }

const NUMBER = /[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?/;
const norm = (s: string, caseSensitive: boolean): string => { const t = s.trim().replace(/\s+/g, ' '); return caseSensitive ? t : t.toLowerCase(); };

/** Does `output` match any expected answer under the task's rule? */
export function matchAnswer(
  output: string,
  expected: readonly string[],
  task: Pick<GenerationTask, 'match' | 'tolerance' | 'caseSensitive'>,
): boolean {
  const out = norm(output, task.caseSensitive);
  return expected.some((e) => {
    switch (task.match) {
      case 'exact': return out === norm(e, task.caseSensitive);
      case 'contains': return out.includes(norm(e, task.caseSensitive));
      case 'regex': return new RegExp(e, task.caseSensitive ? '' : 'i').test(output.trim());
      case 'numeric': {
        const m = NUMBER.exec(output);
        return m !== null && Math.abs(Number(m[0].replace(/,/g, '')) - Number(e)) <= task.tolerance;
      }
    }
  });
}

/** Greedy generation for each prompt (batched), cut at the task's stop strings, then matched. */
export async function runGeneration(
  lm: CausalLM,
  tok: Tokenizer,
  items: readonly GenerationItem[],
  task: GenerationTask,
  o: {
    batchSize?: number;
    adapter?: LinearAdapter;
    eosTokenIds: readonly number[];
    onProgress?: (done: number, total: number) => void;
  },
): Promise<GenerationScore[]> {
  const decode = (ids: readonly number[]): string => tok.decode(ids, { skipSpecialTokens: true });
  const prompts = items.map((it) =>
    tok.encode(
      task.chat
        ? tok.applyChatTemplate([{ role: 'user', content: it.prompt }], { addGenerationPrompt: true })
        : it.prompt,
    ),
  );
  const bs = o.batchSize ?? 8;
  const out: GenerationScore[] = [];
  for (let i = 0; i < prompts.length; i += bs) {
    let r;
    try {
      r = await generate(lm, prompts.slice(i, i + bs), {
        maxNewTokens: task.maxNewTokens,
        temperature: 0,
        eosTokenIds: o.eosTokenIds,
        stop: task.stop,
        decode,
        adapter: o.adapter,
      });
    } catch (e) {
      throw new LorakitError(
        'LK_EVAL',
        `task '${task.name}', items ${i}–${Math.min(prompts.length, i + bs) - 1}: ${(e as Error).message}`,
        { cause: e, hint: 'shorten the prompts or lower max_new_tokens' },
      );
    }
    r.tokens.forEach((ids, j) => {
      const output = r.text?.[j] ?? decode(ids);
      out.push({ output, correct: matchAnswer(output, items[i + j].expected, task) });
    });
    o.onProgress?.(Math.min(prompts.length, i + bs), prompts.length);
  }
  return out;
}
