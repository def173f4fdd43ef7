// Quality filters, each with its own threshold and name (reported per filter): token length, repetition
// (repeated word 3-grams, duplicate lines), character mix (letters among non-space characters), an English
// stop-word ratio as a language check, and perplexity when a scorer is given. The first failing filter wins.
// Heuristics after Gopher (Rae et al. 2021, appendix A) with thresholds loosened for short SFT records.
import { fnv1a } from './minhash.js';
import type { FilterName, FilterOptions } from './types.js';

export interface FilterHit { readonly name: FilterName; readonly detail: string }

export const defaultFilters: Required<Omit<FilterOptions, 'maxPerplexity'>> & { maxPerplexity: number } = {
  minTokens: 3,
  maxTokens: Infinity,
  maxRepeatedNgramFrac: 0.3,
  maxDupLineFrac: 0.3,
  minAlphaFrac: 0.5,
  language: 'en',
  minStopwordFrac: 0.08,
  maxPerplexity: Infinity,
};

const EN_STOPWORDS = ('the of and to a in is it that for on was with as i be at by this are you not or have from but ' +
  'they his her he she we an had which were their been has would there will can if what all so one my me your our ' +
  'do no when who more about up out them some could into than then its also just only these other any may should ' +
  'very how us him over after our most such much where those being does did while here why because each both between')
  .split(' ');
const stopHashes = new Set(EN_STOPWORDS.map(fnv1a));

/** Words+punctuation count: a tokenizer-free stand-in (~1.3 BPE tokens per English word, so it undercounts). */
export function heuristicTokenCount(text: string): number {
  let n = 0, inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 9 || c === 13) { inWord = false; continue; }
    const word = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c >= 0xc0;
    if (!word) { n++; inWord = false; } else if (!inWord) { n++; inWord = true; }
  }
  return n;
}

/** Fraction of letters among non-whitespace characters. */
export function alphaFraction(text: string): number {
  let letters = 0, nonSpace = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 9) continue;
    nonSpace++;
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 0xc0 && c < 0x2000) || (c >= 0x3040 && c < 0xfe30)) letters++;
  }
  return nonSpace === 0 ? 0 : letters / nonSpace;
}

/** Fraction of word 3-grams equal to an earlier 3-gram of the same text (0 when there are < 20). */
export function repeatedNgramFraction(words: Uint32Array, n = 3): number {
  const total = words.length - n + 1;
  if (total < 20) return 0;
  const seen = new Set<number>();
  let rep = 0;
  for (let i = 0; i < total; i++) {
    let h = words[i];
    for (let j = 1; j < n; j++) h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) ^ words[i + j];
    if (seen.has(h)) rep++; else seen.add(h);
  }
  return rep / total;
}

/** Fraction of non-blank lines that repeat an earlier line (0 when there are < 4 lines). */
export function duplicateLineFraction(text: string): number {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length < 4) return 0;
  const seen = new Set<string>();
  let dup = 0;
  for (const l of lines) if (seen.has(l)) dup++; else seen.add(l);
  return dup / lines.length;
}

/** Fraction of words that are English stop words (words hashed by minhash.wordHashes). */
export function stopwordFraction(words: Uint32Array): number {
  if (words.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < words.length; i++) if (stopHashes.has(words[i])) s++;
  return s / words.length;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Runs the cheap filters in order; returns the first that fails, or null. Perplexity is run by the pipeline. */
export function qualityCheck(text: string, words: Uint32Array, tokens: number, f: typeof defaultFilters): FilterHit | null {
  if (tokens < f.minTokens) return { name: 'min_tokens', detail: `${tokens} tokens < ${f.minTokens}` };
  if (tokens > f.maxTokens) return { name: 'max_tokens', detail: `${tokens} tokens > ${f.maxTokens}` };
  if (f.minAlphaFrac > 0) {
    const a = alphaFraction(text);
    if (a < f.minAlphaFrac) return { name: 'char_mix', detail: `letters are ${pct(a)} of non-space characters < ${pct(f.minAlphaFrac)}` };
  }
  if (f.language === 'en' && words.length >= 20) {
    const s = stopwordFraction(words);
    if (s < f.minStopwordFrac) return { name: 'language', detail: `English stop words are ${pct(s)} of words < ${pct(f.minStopwordFrac)}` };
  }
  if (f.maxDupLineFrac < 1) {
    const d = duplicateLineFraction(text);
    if (d > f.maxDupLineFrac) return { name: 'repetition_lines', detail: `${pct(d)} of lines are duplicates > ${pct(f.maxDupLineFrac)}` };
  }
  if (f.maxRepeatedNgramFrac < 1) {
    const r = repeatedNgramFraction(words);
    if (r > f.maxRepeatedNgramFrac) return { name: 'repetition_ngrams', detail: `${pct(r)} of word 3-grams repeat > ${pct(f.maxRepeatedNgramFrac)}` };
  }
  return null;
}
