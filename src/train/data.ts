// Training data: JSONL rows of {"text"}, {"prompt","completion"} or {"messages"} turned into token ids with a
// per-token target mask (completions / assistant turns only unless trainOnInputs). Every bad row is reported with
// file:line and counted; the caller decides (skipInvalid) whether the run may proceed.
import { createHash } from 'node:crypto';
import { LorakitError } from '../errors.js';
import type { ChatMessage, Tokenizer } from '../models/tokenizer.js';
import { readLines } from '../util/jsonl.js';

export interface Sample {
  readonly ids: number[];
  /** target[t]: ids[t] is predicted (and scored). target[0] is always false. */
  readonly target: boolean[];
  readonly source: string;
}

export interface InvalidRow { readonly source: string; readonly reason: string; readonly kind: 'json' | 'schema' | 'empty' | 'too_long' | 'template' }

export interface LoadedData {
  readonly samples: Sample[];
  readonly invalid: InvalidRow[];
  readonly truncated: number;
  readonly rows: number;
  /** sha256 over the raw file bytes as read (lines), for lineage. */
  readonly fingerprint: string;
  readonly format: Record<'text' | 'prompt_completion' | 'messages', number>;
}

export interface DataOptions {
  readonly maxLength: number;
  readonly trainOnInputs: boolean;
  readonly truncate: boolean;
}

function encodeSegments(tok: Tokenizer, segments: readonly { text: string; target: boolean }[], addEos: boolean): { ids: number[]; target: boolean[] } {
  const ids: number[] = [], target: boolean[] = [];
  segments.forEach((s, i) => {
    // Special tokens (BOS) only at the very start, as a single encode of the whole text would add them.
    const t = tok.encode(s.text, { addSpecialTokens: i === 0 });
    for (const id of t) { ids.push(id); target.push(s.target); }
  });
  if (addEos && tok.eosTokenIds.length) { ids.push(tok.eosTokenIds[0]); target.push(segments[segments.length - 1]?.target ?? true); }
  target[0] = false;
  return { ids, target };
}

/** Renders messages with the chat template, one segment per turn so assistant turns can be marked as targets. */
function chatSegments(tok: Tokenizer, messages: ChatMessage[], trainOnInputs: boolean): { text: string; target: boolean }[] {
  const segs: { text: string; target: boolean }[] = [];
  let prev = '';
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (m.role === 'assistant') {
      // The generation prompt (e.g. "<|assistant|>\n") belongs to the input; the reply and its end marker are targets.
      const withPrompt = tok.applyChatTemplate(messages.slice(0, i), { addGenerationPrompt: true });
      if (withPrompt.startsWith(prev) && withPrompt.length > prev.length) { segs.push({ text: withPrompt.slice(prev.length), target: trainOnInputs }); prev = withPrompt; }
      const full = tok.applyChatTemplate(messages.slice(0, i + 1));
      if (!full.startsWith(prev)) throw new Error('the chat template does not render turns as a growing prefix');
      segs.push({ text: full.slice(prev.length), target: true });
      prev = full;
    } else {
      const full = tok.applyChatTemplate(messages.slice(0, i + 1));
      if (!full.startsWith(prev)) throw new Error('the chat template does not render turns as a growing prefix');
      segs.push({ text: full.slice(prev.length), target: trainOnInputs });
      prev = full;
    }
  }
  return segs.filter((s) => s.text.length > 0);
}

function validateMessages(v: unknown): string | null {
  if (!Array.isArray(v) || v.length === 0) return "'messages' must be a non-empty array";
  let expectUser = true;
  for (let i = 0; i < v.length; i++) {
    const m = v[i] as Record<string, unknown>;
    if (!m || typeof m !== 'object' || typeof m.role !== 'string' || typeof m.content !== 'string') return `'messages[${i}]' must be {"role": string, "content": string}`;
    if (m.content.trim() === '') return `'messages[${i}].content' is empty`;
    if (m.role === 'system') { if (i !== 0) return `'messages[${i}]': a system message may only come first`; continue; }
    if (m.role !== 'user' && m.role !== 'assistant') return `'messages[${i}].role' must be system, user or assistant, got '${m.role}'`;
    if ((m.role === 'user') !== expectUser) return `'messages[${i}]': roles must alternate user/assistant, got '${m.role}'`;
    expectUser = !expectUser;
  }
  if ((v[v.length - 1] as ChatMessage).role !== 'assistant') return "'messages' must end with an assistant turn (nothing to learn otherwise)";
  return null;
}

export async function loadTrainingData(path: string, tok: Tokenizer, o: DataOptions): Promise<LoadedData> {
  const samples: Sample[] = [], invalid: InvalidRow[] = [];
  const format = { text: 0, prompt_completion: 0, messages: 0 };
  const hash = createHash('sha256');
  let rows = 0, truncated = 0;
  try {
    for await (const { line, text } of readLines(path)) {
      rows++;
      hash.update(text).update('\n');
      const source = `${path}:${line}`;
      let row: unknown;
      try {
        row = JSON.parse(text);
      } catch (e) {
        invalid.push({ source, kind: 'json', reason: `not valid JSON (${(e as Error).message})` });
        continue;
      }
      if (!row || typeof row !== 'object' || Array.isArray(row)) { invalid.push({ source, kind: 'schema', reason: 'a row must be a JSON object' }); continue; }
      const r = row as Record<string, unknown>;
      let enc: { ids: number[]; target: boolean[] };
      try {
        if ('messages' in r) {
          const err = validateMessages(r.messages);
          if (err) { invalid.push({ source, kind: err.includes('empty') ? 'empty' : 'schema', reason: err }); continue; }
          enc = encodeSegments(tok, chatSegments(tok, r.messages as ChatMessage[], o.trainOnInputs), false);
          format.messages++;
        } else if ('prompt' in r || 'completion' in r) {
          if (typeof r.prompt !== 'string' || typeof r.completion !== 'string') { invalid.push({ source, kind: 'schema', reason: "'prompt' and 'completion' must both be strings" }); continue; }
          if (r.completion.trim() === '') { invalid.push({ source, kind: 'empty', reason: "'completion' is empty" }); continue; }
          enc = encodeSegments(tok, [{ text: r.prompt, target: o.trainOnInputs }, { text: r.completion, target: true }], true);
          format.prompt_completion++;
        } else if ('text' in r) {
          if (typeof r.text !== 'string') { invalid.push({ source, kind: 'schema', reason: "'text' must be a string" }); continue; }
          if (r.text.trim() === '') { invalid.push({ source, kind: 'empty', reason: "'text' is empty" }); continue; }
          enc = encodeSegments(tok, [{ text: r.text, target: true }], true);
          format.text++;
        } else {
          invalid.push({ source, kind: 'schema', reason: `expected a "text", "prompt"/"completion" or "messages" field, got keys ${JSON.stringify(Object.keys(r))}` });
          continue;
        }
      } catch (e) {
        invalid.push({ source, kind: 'template', reason: `cannot render: ${(e as Error).message}` });
        continue;
      }
      if (enc.ids.length > o.maxLength) {
        if (!o.truncate) { invalid.push({ source, kind: 'too_long', reason: `${enc.ids.length} tokens, longer than max length ${o.maxLength}` }); continue; }
        enc = { ids: enc.ids.slice(0, o.maxLength), target: enc.target.slice(0, o.maxLength) };
        truncated++;
      }
      if (!enc.target.some(Boolean)) { invalid.push({ source, kind: 'empty', reason: 'no target tokens left (after truncation)' }); continue; }
      samples.push({ ids: enc.ids, target: enc.target, source });
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new LorakitError('LK_DATA', `training data '${path}' does not exist`);
    if (e instanceof LorakitError) throw e;
    throw new LorakitError('LK_DATA', `cannot read '${path}': ${(e as Error).message}`, { cause: e });
  }
  return { samples, invalid, truncated, rows, fingerprint: hash.digest('hex'), format };
}

/** Throws LK_DATA_ROW listing invalid rows unless skipping is allowed; with nothing valid left, LK_DATA. */
export function checkInvalid(path: string, d: LoadedData, skipInvalid: boolean): void {
  if (d.invalid.length && !skipInvalid) {
    const list = d.invalid.slice(0, 10).map((i) => `${i.source}: ${i.reason}`).join('\n  ');
    throw new LorakitError('LK_DATA_ROW', `${d.invalid.length} of ${d.rows} rows in '${path}' are invalid:\n  ${list}${d.invalid.length > 10 ? `\n  … and ${d.invalid.length - 10} more` : ''}`, {
      hint: 'fix them, clean the file with `lorakit data curate`, or pass --skip-invalid to train on the valid rows (they are still reported)',
      details: { invalid: d.invalid.length, rows: d.rows, first: d.invalid.slice(0, 10) },
    });
  }
  if (d.samples.length === 0) throw new LorakitError('LK_DATA', `'${path}' has no usable training rows (${d.rows} rows, ${d.invalid.length} invalid)`);
}

/** Packs samples (in order) into sequences of at most maxLength, with segment ids that keep attention per sample. */
export function packSamples(samples: readonly Sample[], maxLength: number): { ids: number[]; target: boolean[]; segments: number[]; positions: number[] }[] {
  const out: { ids: number[]; target: boolean[]; segments: number[]; positions: number[] }[] = [];
  let cur = { ids: [] as number[], target: [] as boolean[], segments: [] as number[], positions: [] as number[] };
  let seg = 0;
  for (const s of samples) {
    if (cur.ids.length + s.ids.length > maxLength && cur.ids.length > 0) { out.push(cur); cur = { ids: [], target: [], segments: [], positions: [] }; seg = 0; }
    s.ids.forEach((id, i) => { cur.ids.push(id); cur.target.push(i === 0 ? false : s.target[i]); cur.segments.push(seg); cur.positions.push(i); });
    seg++;
  }
  if (cur.ids.length) out.push(cur);
  return out;
}
