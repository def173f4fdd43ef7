// Deduplication state that stays small while the input streams past: an open-addressing table of 64-bit
// content-hash prefixes (exact duplicates) and, for near-duplicates, per record only a b-bit (8-bit) MinHash
// signature and its LSH band hashes. After the pass, bands are bucketed one at a time, candidates verified by
// signature, and clusters formed by union-find whose root is the smallest index (the first record seen).
// Memory ≈ records × (numPerm + 4·bands + ~30) bytes: 128 perms / 21 bands ≈ 240 B per record that reaches near-dedup.
// b-bit MinHash (Li & König 2010): with 8 bits a chance match has probability 1/256, corrected for in the estimate;
// at J >= 0.5 the estimate's variance is within 1% of the full 32-bit one.
import { fmix32, estimateSigma } from './minhash.js';

/** A set of 64-bit keys (two uint32 halves) mapping to the id of their first occurrence. */
export class ExactSet {
  private hi = new Uint32Array(1024);
  private lo = new Uint32Array(1024);
  private val = new Int32Array(1024).fill(-1);
  size = 0;

  /** Returns the id stored for this key, or inserts `id` and returns -1. */
  getOrInsert(hi: number, lo: number, id: number): number {
    if (this.size * 2 >= this.val.length) this.grow();
    const mask = this.val.length - 1;
    let i = fmix32(hi ^ Math.imul(lo, 0x9e3779b1)) & mask;
    for (;;) {
      const v = this.val[i];
      if (v < 0) { this.hi[i] = hi; this.lo[i] = lo; this.val[i] = id; this.size++; return -1; }
      if (this.hi[i] === hi >>> 0 && this.lo[i] === lo >>> 0) return v;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const { hi, lo, val } = this;
    const n = val.length * 2;
    this.hi = new Uint32Array(n); this.lo = new Uint32Array(n); this.val = new Int32Array(n).fill(-1);
    this.size = 0;
    for (let i = 0; i < val.length; i++) if (val[i] >= 0) this.getOrInsert(hi[i], lo[i], val[i]);
  }
}

export interface NearDupStats {
  readonly candidatePairs: number;
  readonly verifiedPairs: number;
  readonly clusters: number;
  readonly largestCluster: number;
}

/** Members of one LSH bucket compared against a new record: at most this many distinct clusters per bucket. */
const MAX_BUCKET_ROOTS = 8;

export class NearDupIndex {
  readonly numPerm: number;
  readonly bands: number;
  readonly rows: number;
  /** Signatures are compared against threshold − σ(threshold) so that pairs just above the threshold are kept (recall). */
  readonly verifyAt: number;
  private sigs: Uint8Array;
  private bandHashes: Uint32Array;
  private empty: Uint8Array;
  private parent: Int32Array = new Int32Array(0);
  count = 0;

  constructor(opts: { numPerm: number; bands: number; rows: number; threshold: number }) {
    this.numPerm = opts.numPerm; this.bands = opts.bands; this.rows = opts.rows;
    this.verifyAt = opts.threshold - estimateSigma(opts.threshold, opts.numPerm);
    this.sigs = new Uint8Array(1024 * this.numPerm);
    this.bandHashes = new Uint32Array(1024 * this.bands);
    this.empty = new Uint8Array(1024);
  }

  /** Adds the next record's full 32-bit signature; returns its index. An empty signature never matches. */
  add(sig: Uint32Array, isEmpty: boolean): number {
    const i = this.count++;
    if (i >= this.empty.length) {
      const n = Math.ceil(this.empty.length * 1.5);
      const s = new Uint8Array(n * this.numPerm); s.set(this.sigs); this.sigs = s;
      const b = new Uint32Array(n * this.bands); b.set(this.bandHashes); this.bandHashes = b;
      const e = new Uint8Array(n); e.set(this.empty); this.empty = e;
    }
    this.empty[i] = isEmpty ? 1 : 0;
    const base = i * this.numPerm;
    // b-bit MinHash: keep 8 mixed bits of each entry for verification (chance match 1/256 per entry).
    for (let k = 0; k < this.numPerm; k++) { const v = sig[k]; this.sigs[base + k] = (v ^ (v >>> 8) ^ (v >>> 16) ^ (v >>> 24)) & 0xff; }
    for (let j = 0; j < this.bands; j++) {
      let h = 0x3c6ef372 ^ j;
      for (let q = j * this.rows, end = q + this.rows; q < end; q++) h = Math.imul((h << 7) | (h >>> 25), 0x9e3779b1) ^ sig[q];
      this.bandHashes[i * this.bands + j] = fmix32(h);
    }
    return i;
  }

  /** Jaccard estimate from the stored 8-bit signatures, corrected for chance matches: P(eq) = J + (1 − J)/256. */
  similarity(i: number, j: number): number {
    const n = this.numPerm, s = this.sigs, a = i * n, b = j * n;
    let eq = 0;
    for (let k = 0; k < n; k++) if (s[a + k] === s[b + k]) eq++;
    const c = 1 / 256;
    return Math.max(0, (eq / n - c) / (1 - c));
  }

  find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) { p[i] = p[p[i]]; i = p[i]; }
    return i;
  }

  private union(a: number, b: number): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra < rb) this.parent[rb] = ra; else if (rb < ra) this.parent[ra] = rb;
  }

  /**
   * Buckets each band, verifies candidates and builds the clusters. Call once, after the last add().
   * Buckets live in one open-addressing table on typed arrays, reused for every band (no per-record objects);
   * a bucket keeps a chain of at most MAX_BUCKET_ROOTS members from distinct clusters.
   */
  cluster(onBand?: (band: number) => void): NearDupStats {
    const n = this.count;
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
    let cap = 1024;
    while (cap < n * 2) cap *= 2;
    const mask = cap - 1;
    const slotKey = new Uint32Array(cap), slotHead = new Int32Array(cap), slotLen = new Uint8Array(cap), next = new Int32Array(n);
    let candidatePairs = 0, verifiedPairs = 0;
    for (let j = 0; j < this.bands; j++) {
      slotHead.fill(-1);
      for (let i = 0; i < n; i++) {
        if (this.empty[i]) continue;
        const key = this.bandHashes[i * this.bands + j];
        let h = key & mask;
        while (slotHead[h] !== -1 && slotKey[h] !== key) h = (h + 1) & mask;
        if (slotHead[h] === -1) { slotKey[h] = key; slotHead[h] = i; slotLen[h] = 1; next[i] = -1; continue; }
        const ri = this.find(i);
        let linked = false;
        for (let m = slotHead[h]; m !== -1; m = next[m]) if (this.find(m) === ri) { linked = true; break; }
        if (!linked) {
          for (let m = slotHead[h]; m !== -1; m = next[m]) {
            candidatePairs++;
            if (this.similarity(i, m) >= this.verifyAt) { this.union(i, m); verifiedPairs++; linked = true; break; }
          }
        }
        if (!linked && slotLen[h] < MAX_BUCKET_ROOTS) { next[i] = slotHead[h]; slotHead[h] = i; slotLen[h]++; }
      }
      onBand?.(j);
    }
    const size = new Int32Array(n);
    for (let i = 0; i < n; i++) size[this.find(i)]++;
    let clusters = 0, largestCluster = 0;
    for (let i = 0; i < n; i++) if (size[i] > 1) { clusters++; largestCluster = Math.max(largestCluster, size[i]); }
    return { candidatePairs, verifiedPairs, clusters, largestCluster };
  }

  /** The cluster representative (first record seen) of record i; i itself when it has no near-duplicate. */
  root(i: number): number {
    return this.parent.length > i ? this.find(i) : i;
  }
}
