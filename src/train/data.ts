// Training data: JSONL rows of {"text"}, {"prompt","completion"} or {"messages"} turned into token ids with a
// per-token target mask (completions / assistant turns only unless trainOnInputs). Every bad row is reported with
// file:line and counted; the caller decides (skipInvalid) whether the run may proceed.
// Rows are read and validated by the data layer (data/readers.ts, data/validate.ts), exactly as `data curate` does
// (issue 14 item 3): a BOM is stripped, invalid UTF-8 and rows over 8 MiB are rejected before parsing.
import { existsSync, statSync } from 'node:fs';
import { readRecords } from '../data/readers.js';
import { MAX_RECORD_BYTES, type RejectReason } from '../data/types.js';
import { toRecord } from '../data/validate.js';
import { LorakitError } from '../errors.js';
import type { ChatMessage, Tokenizer } from '../models/tokenizer.js';
import { sha256File } from '../util/hash.js';

export interface Sample {
  readonly ids: number[];
  /** target[t]: ids[t] is predicted (and scored). target[0] is always false. */
  readonly target: boolean[];
  readonly source: string;
}

export interface InvalidRow {
  readonly source: string;
  readonly reason: string;
  readonly kind: 'json' | 'encoding' | 'too_large' | 'schema' | 'empty' | 'too_long' | 'template';
}

export interface LoadedData {
  readonly samples: Sample[];
  readonly invalid: InvalidRow[];
  readonly truncated: number;
  readonly rows: number;
  /** sha256 of the file's bytes, for lineage. */
  readonly fingerprint: string;
  readonly format: Record<'text' | 'prompt_completion' | 'messages', number>;
}

export interface DataOptions {
  readonly maxLength: number;
  readonly trainOnInputs: boolean;
  readonly truncate: boolean;
  /** Rows longer than this many bytes are rejected unparsed (default MAX_RECORD_BYTES, curation's limit). */
  readonly maxRecordBytes?: number;
}

function encodeSegments(
  tok: Tokenizer,
  segments: readonly { text: string; target: boolean }[],
  addEos: boolean,
): { ids: number[]; target: boolean[] } {
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
      if (withPrompt.startsWith(prev) && withPrompt.length > prev.length) {
        segs.push({ text: withPrompt.slice(prev.length), target: trainOnInputs });
        prev = withPrompt;
      }
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

/** A curation reject reason, in training's coarser kinds. */
function kindOf(reason: RejectReason): InvalidRow['kind'] {
  switch (reason) {
    case 'bad_json': case 'bad_csv': return 'json';
    case 'invalid_utf8': return 'encoding';
    case 'too_large': return 'too_large';
    case 'empty_field': case 'empty_after_normalize': return 'empty';
    default: return 'schema';
  }
}

/** Reads, validates (with the data layer's reader and validator, as `data curate` does) and tokenizes a JSONL file. */
export async function loadTrainingData(path: string, tok: Tokenizer, o: DataOptions): Promise<LoadedData> {
  const samples: Sample[] = [], invalid: InvalidRow[] = [];
  const format = { text: 0, prompt_completion: 0, messages: 0 };
  let rows = 0, truncated = 0, fingerprint: string;
  if (!existsSync(path)) throw new LorakitError('LK_DATA', `training data '${path}' does not exist`, { details: { file: path } });
  if (statSync(path).isDirectory()) {
    throw new LorakitError('LK_DATA', `training data '${path}' is a folder; expected a JSONL file`, { details: { file: path } });
  }
  try {
    fingerprint = sha256File(path);
    const input = { file: path, format: 'jsonl' as const, bytes: statSync(path).size };
    // Rows over maxRecordBytes are rejected from their byte count, before any decoding or parsing.
    for await (const item of readRecords(input, { txtUnit: 'line', maxRecordBytes: o.maxRecordBytes ?? MAX_RECORD_BYTES })) {
      rows++;
      const source = `${path}:${item.loc.line}`;
      if (item.kind === 'error') {
        invalid.push({ source, kind: kindOf(item.reason), reason: item.reason === 'bad_json' ? `not valid JSON (${item.detail})` : item.detail });
        continue;
      }
      const v = toRecord(item.value);
      if (!v.ok) { invalid.push({ source, kind: kindOf(v.reason), reason: v.detail }); continue; }
      const r = v.record;
      let enc: { ids: number[]; target: boolean[] };
      try {
        if ('messages' in r) {
          enc = encodeSegments(tok, chatSegments(tok, r.messages.map((m) => ({ role: m.role, content: m.content })), o.trainOnInputs), false);
          format.messages++;
        } else if ('prompt' in r) {
          enc = encodeSegments(tok, [{ text: r.prompt, target: o.trainOnInputs }, { text: r.completion, target: true }], true);
          format.prompt_completion++;
        } else {
          enc = encodeSegments(tok, [{ text: r.text, target: true }], true);
          format.text++;
        }
      } catch (e) {
        invalid.push({ source, kind: 'template', reason: `cannot render: ${(e as Error).message}` });
        continue;
      }
      if (enc.ids.length > o.maxLength) {
        if (!o.truncate) {
          invalid.push({
            source,
            kind: 'too_long',
            reason: `${enc.ids.length} tokens, longer than max length ${o.maxLength}`,
          });
          continue;
        }
        enc = { ids: enc.ids.slice(0, o.maxLength), target: enc.target.slice(0, o.maxLength) };
        truncated++;
      }
      if (!enc.target.some(Boolean)) { invalid.push({ source, kind: 'empty', reason: 'no target tokens left (after truncation)' }); continue; }
      samples.push({ ids: enc.ids, target: enc.target, source });
    }
  } catch (e) {
    if (e instanceof LorakitError) throw e;
    throw new LorakitError('LK_DATA', `cannot read '${path}': ${(e as Error).message}`, { cause: e, details: { file: path } });
  }
  return { samples, invalid, truncated, rows, fingerprint, format };
}

/** Throws LK_DATA_ROW listing invalid rows unless skipping is allowed; with nothing valid left, LK_DATA. */
export function checkInvalid(path: string, d: LoadedData, skipInvalid: boolean): void {
  if (d.invalid.length && !skipInvalid) {
    const list = d.invalid.slice(0, 10).map((i) => `${i.source}: ${i.reason}`).join('\n  ');
    const more = d.invalid.length > 10 ? `\n  … and ${d.invalid.length - 10} more` : '';
    throw new LorakitError('LK_DATA_ROW', `${d.invalid.length} of ${d.rows} rows in '${path}' are invalid:\n  ${list}${more}`, {
      hint: 'fix them, clean the file with `lorakit data curate`, or pass --skip-invalid to train on the valid rows (they are still reported)',
      details: { invalid: d.invalid.length, rows: d.rows, first: d.invalid.slice(0, 10) },
    });
  }
  if (d.samples.length === 0) {
    throw new LorakitError('LK_DATA', `'${path}' has no usable training rows (${d.rows} rows, ${d.invalid.length} invalid)`);
  }
}

/** Packs samples (in order) into sequences of at most maxLength, with segment ids that keep attention per sample. */
export function packSamples(
  samples: readonly Sample[],
  maxLength: number,
): { ids: number[]; target: boolean[]; segments: number[]; positions: number[] }[] {
  const out: { ids: number[]; target: boolean[]; segments: number[]; positions: number[] }[] = [];
  let cur = { ids: [] as number[], target: [] as boolean[], segments: [] as number[], positions: [] as number[] };
  let seg = 0;
  for (const s of samples) {
    if (cur.ids.length + s.ids.length > maxLength && cur.ids.length > 0) {
      out.push(cur);
      cur = { ids: [], target: [], segments: [], positions: [] };
      seg = 0;
    }
    s.ids.forEach((id, i) => { cur.ids.push(id); cur.target.push(i === 0 ? false : s.target[i]); cur.segments.push(seg); cur.positions.push(i); });
    seg++;
  }
  if (cur.ids.length) out.push(cur);
  return out;
}
