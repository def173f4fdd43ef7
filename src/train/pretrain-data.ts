// Pretraining data: documents from the Brown corpus (without its held-out files, which belong to the general
// evaluation suite) or from text files, tokenized without special tokens, joined with EOS and cut into
// fixed-length rows. Epoch order is a seeded shuffle of the rows, so a run (and a resumed run) sees the same
// batches. Held-out rows for validation come only from held-out documents. Not a fine-tuning data loader (data.ts).
import { readFileSync } from 'node:fs';
import { isBrownHeldOut, readBrown } from '../data/corpora/brown.js';
import { LorakitError } from '../errors.js';
import { type Batch, makeScoreBatch } from '../models/causal-lm.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { Rng } from '../util/rng.js';

export interface CorpusDocument { readonly id: string; readonly text: string; readonly heldOut: boolean }

/**
 * `sources`: 'brown' and/or text file paths. Brown's held-out files (isBrownHeldOut) are marked heldOut; for files,
 * every 20th blank-line-separated paragraph block of each file is held out. `limit` keeps the first N documents
 * (tests). Documents come in a fixed order.
 */
export function readCorpus(sources: readonly string[], o: { limit?: number } = {}): CorpusDocument[] {
  if (sources.length === 0) throw new LorakitError('LK_ARG', "'--corpus' needs 'brown' or at least one text file");
  const docs: CorpusDocument[] = [];
  for (const src of sources) {
    if (src === 'brown') {
      for (const d of readBrown({ limit: o.limit })) docs.push({ id: `brown/${d.id}`, text: d.text, heldOut: isBrownHeldOut(d.id) });
      continue;
    }
    let text: string;
    try {
      text = readFileSync(src, 'utf8');
    } catch (e) {
      throw new LorakitError('LK_IO', `cannot read corpus file '${src}': ${(e as Error).message}`, { cause: e, details: { file: src } });
    }
    text.replace(/\r\n/g, '\n').split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean)
      .forEach((p, i) => docs.push({ id: `${src}#${i}`, text: p, heldOut: i % 20 === 19 }));
  }
  return o.limit ? docs.slice(0, o.limit) : docs;
}

/** Texts used to train a tokenizer: every document that is not held out. */
export function trainingTexts(docs: readonly CorpusDocument[]): string[] {
  return docs.filter((d) => !d.heldOut).map((d) => d.text);
}

/** Token stream of `docs`: each document's ids followed by `eos`. */
export function tokenStream(docs: readonly CorpusDocument[], tok: Tokenizer, eos: number): Int32Array {
  const parts: number[][] = docs.map((d) => [...tok.encode(d.text, { addSpecialTokens: false }), eos]);
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export interface PretrainData {
  /** Training rows, each `seq` tokens (views into one stream). */
  readonly rows: readonly Int32Array[];
  /** Held-out token stream (perplexity) and its rows (validation loss). */
  readonly heldStream: Int32Array;
  readonly heldRows: readonly Int32Array[];
  readonly trainDocs: number;
  readonly heldDocs: number;
  readonly trainTokens: number;
}

/** Cuts a stream into non-overlapping rows of `seq` tokens (the tail shorter than `seq` is dropped). */
export function cutRows(stream: Int32Array, seq: number): Int32Array[] {
  const rows: Int32Array[] = [];
  for (let i = 0; i + seq <= stream.length; i += seq) rows.push(stream.subarray(i, i + seq));
  return rows;
}

export function buildPretrainData(docs: readonly CorpusDocument[], tok: Tokenizer, eos: number, seq: number): PretrainData {
  const train = docs.filter((d) => !d.heldOut), held = docs.filter((d) => d.heldOut);
  const stream = tokenStream(train, tok, eos);
  const heldStream = tokenStream(held, tok, eos);
  const rows = cutRows(stream, seq);
  if (rows.length === 0) throw new LorakitError('LK_DATA', `the corpus has ${stream.length} training tokens, fewer than one row of --seq ${seq}`);
  return { rows, heldStream, heldRows: cutRows(heldStream, seq), trainDocs: train.length, heldDocs: held.length, trainTokens: stream.length };
}

/** Row order of `epoch` (seeded Fisher–Yates). */
export function epochOrder(rowCount: number, seed: number, epoch: number): number[] {
  return new Rng(seed * 1000003 + epoch + 17).shuffle(Array.from({ length: rowCount }, (_, i) => i));
}

/** A training batch of full rows: every position attends causally, labels are the next token in the row. */
export function rowsBatch(rows: readonly Int32Array[]): Batch {
  return makeScoreBatch(rows.map((r) => Array.from(r)), 0);
}
