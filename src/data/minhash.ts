// MinHash signatures over word n-gram shingles, with LSH banding parameters. All 32-bit integer math on
// typed arrays (Math.imul, >>> 0); no BigInt. Words are hashed once per record (FNV-1a over lower-cased UTF-16
// units) and the same word hashes feed the shingles, the repetition filter and the stop-word ratio.
// Broder 1997 (resemblance), Leskovec et al. "Mining of Massive Datasets" ch. 3 (banding), Li & König 2010 (b-bit).
import { Rng } from '../util/rng.js';

/** murmur3's 32-bit finaliser: a cheap, well-mixing bijection. */
export function fmix32(h: number): number {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a of a whole string (UTF-16 units). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const isWordUnit = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 39
  || (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && !(c >= 0x2000 && c <= 0x2bff) && !(c >= 0x3000 && c <= 0x303f)
    && !(c >= 0xfe30 && c <= 0xfe4f) && !(c >= 0xff00 && c <= 0xff0f));

let wordBuf = new Uint32Array(4096);
/**
 * Hashes the words of `text` (runs of letters, digits, apostrophes; ASCII lower-cased) into a shared buffer.
 * Returns a view valid until the next call.
 */
export function wordHashes(text: string): Uint32Array {
  let n = 0;
  let h = 0x811c9dc5;
  let inWord = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (isWordUnit(c)) {
      h = Math.imul(h ^ (c >= 65 && c <= 90 ? c | 32 : c), 0x01000193);
      inWord = true;
    } else if (inWord) {
      if (n === wordBuf.length) { const b = new Uint32Array(n * 2); b.set(wordBuf); wordBuf = b; }
      wordBuf[n++] = h >>> 0;
      h = 0x811c9dc5;
      inWord = false;
    }
  }
  return wordBuf.subarray(0, n);
}

let shingleBuf = new Uint32Array(4096);
/** Hashes of the word n-grams (n = `size`); a text with fewer words gives one shingle of all its words. */
export function shingleHashes(words: Uint32Array, size: number): Uint32Array {
  const count = words.length === 0 ? 0 : Math.max(1, words.length - size + 1);
  if (count > shingleBuf.length) shingleBuf = new Uint32Array(count * 2);
  const span = Math.min(size, words.length);
  for (let i = 0; i < count; i++) {
    let h = 0x9747b28c;
    for (let j = 0; j < span; j++) h = Math.imul((h << 5) | (h >>> 27), 0x9e3779b1) ^ words[i + j];
    shingleBuf[i] = fmix32(h);
  }
  return shingleBuf.subarray(0, count);
}

/** MinHash with `numPerm` universal hashes h_k(x) = a_k·x + b_k mod 2^32 (a_k odd) over pre-mixed shingle hashes. */
export class MinHasher {
  readonly numPerm: number;
  private readonly a: Uint32Array;
  private readonly b: Uint32Array;
  private readonly sig: Uint32Array;

  constructor(numPerm: number, seed = 1) {
    this.numPerm = numPerm;
    const rng = new Rng(seed ^ 0x5eed);
    this.a = new Uint32Array(numPerm);
    this.b = new Uint32Array(numPerm);
    for (let k = 0; k < numPerm; k++) { this.a[k] = rng.nextU32() | 1; this.b[k] = rng.nextU32(); }
    this.sig = new Uint32Array(numPerm);
  }

  /** The signature of a set of shingle hashes; a view reused by the next call. All 0xffffffff for an empty set. */
  signature(shingles: Uint32Array): Uint32Array {
    const { a, b, sig, numPerm } = this;
    const n = shingles.length;
    // permutation-major: a_k, b_k and the running minimum stay in registers while the shingles stream past
    for (let k = 0; k < numPerm; k++) {
      const ak = a[k], bk = b[k];
      let m = 0xffffffff;
      for (let i = 0; i < n; i++) {
        const v = (Math.imul(ak, shingles[i]) + bk) >>> 0;
        if (v < m) m = v;
      }
      sig[k] = m;
    }
    return sig;
  }
}

/** Fraction of equal entries: the MinHash estimate of Jaccard similarity. */
export function estimateJaccard(s1: ArrayLike<number>, s2: ArrayLike<number>): number {
  let eq = 0;
  for (let k = 0; k < s1.length; k++) if (s1[k] === s2[k]) eq++;
  return eq / s1.length;
}

/** Exact Jaccard of two hash sets (for tests and the brute-force check). */
export function exactJaccard(a: Iterable<number>, b: Iterable<number>): number {
  const sa = new Set(a), sb = new Set(b);
  let inter = 0;
  for (const x of sa) if (sb.has(x)) inter++;
  const union = sa.size + sb.size - inter;
  return union === 0 ? 1 : inter / union;
}

/** Standard deviation of the MinHash Jaccard estimate at similarity t with numPerm hashes. */
export const estimateSigma = (t: number, numPerm: number): number => Math.sqrt((t * (1 - t)) / numPerm);

/** Probability that a pair of similarity s shares at least one band of `rows` rows among `bands` bands. */
export const candidateProbability = (s: number, bands: number, rows: number): number => 1 - Math.pow(1 - Math.pow(s, rows), bands);

/**
 * Picks LSH banding for a threshold: the most rows per band (fewest spurious candidates) such that a pair at
 * the verification floor (t − σ(t)) still becomes a candidate with probability >= 0.99. Recall first: a pair
 * above the threshold that never becomes a candidate is lost for good, while a spurious candidate costs one
 * signature comparison.
 */
export function lshParams(threshold: number, numPerm: number): { bands: number; rows: number } {
  const floor = Math.max(0.01, threshold - estimateSigma(threshold, numPerm));
  let best = { bands: numPerm, rows: 1 };
  for (let rows = 1; rows <= numPerm; rows++) {
    const bands = Math.floor(numPerm / rows);
    if (bands < 1) break;
    if (candidateProbability(floor, bands, rows) >= 0.99) best = { bands, rows };
  }
  return best;
}
