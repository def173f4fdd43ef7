// A SIMULATION (not HAProxy itself) of adapter routing over serve replicas, for the `cluster` bench: the same
// Zipf request trace goes through round-robin or through consistent hashing on the model name with bounded load
// (HAProxy's `hash-type consistent` + `hash-balance-factor`: sdbm of the key, avalanched by full_hash, 16 ring
// points per server, as in HAProxy's lb_chash.c), and each replica keeps an LRU of --max-loras resident adapters.
import { Rng } from '../src/util/rng.js';

/** HAProxy's sdbm string hash (32-bit). */
export function sdbm(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (s.charCodeAt(i) + (h << 6) + (h << 16) - h) >>> 0;
  return h;
}
/** HAProxy's full_hash (Bob Jenkins' 32-bit integer avalanche), applied to keys for consistent hashing. */
export function fullHash(a: number): number {
  a = ((a + 0x7ed55d16) + (a << 12)) >>> 0;
  a = ((a ^ 0xc761c23c) ^ (a >>> 19)) >>> 0;
  a = ((a + 0x165667b1) + (a << 5)) >>> 0;
  a = ((a + 0xd3a2646c) ^ (a << 9)) >>> 0;
  a = ((a + 0xfd7046c5) + (a << 3)) >>> 0;
  a = ((a ^ 0xb55a4f09) ^ (a >>> 16)) >>> 0;
  return a;
}

export class Ring {
  private readonly points: { key: number; server: number }[] = [];
  constructor(readonly servers: number, pointsPerServer = 16) {
    for (let s = 0; s < servers; s++) {
      for (let i = 0; i < pointsPerServer; i++)
        this.points.push({ key: fullHash(((s + 1) * 4096 + i) >>> 0), server: s });
    }
    this.points.sort((a, b) => a.key - b.key);
  }
  /** Servers in ring order from the key's position (each once). */
  walk(name: string): number[] {
    const k = fullHash(sdbm(name));
    let lo = 0, hi = this.points.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.points[mid].key < k) lo = mid + 1; else hi = mid; }
    const out: number[] = [];
    for (let i = 0; out.length < this.servers && i < this.points.length; i++) {
      const s = this.points[(lo + i) % this.points.length].server;
      if (!out.includes(s)) out.push(s);
    }
    return out;
  }
}

/** A Zipf(s) trace over `n` adapter names. */
export function zipfTrace(n: number, length: number, s: number, seed: number): string[] {
  const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const total = w.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  w.reduce((acc, x, i) => (cdf[i] = acc + x / total), 0);
  const rng = new Rng(seed);
  return Array.from({ length }, () => {
    const u = rng.next();
    let i = cdf.findIndex((c) => c >= u);
    if (i < 0) i = n - 1;
    return `adapter-${i}`;
  });
}

/** adaptersPerReplica: distinct adapters a replica had to load over the trace (mean over replicas). */
export interface SimResult { readonly hitRate: number; readonly loadsPer1k: number; readonly maxShare: number; readonly adaptersPerReplica: number }

/** Replays the trace: `inFlight` requests are open at a time (a sliding window), which is what bounded load counts. */
export function simulate(
  trace: readonly string[],
  o: {
    replicas: number;
    maxLoras: number;
    policy: 'round-robin' | 'affinity';
    balanceFactor?: number;
    inFlight?: number;
  },
): SimResult {
  const lru = Array.from({ length: o.replicas }, () => new Map<string, true>());
  const served = new Array<number>(o.replicas).fill(0);
  const load = new Array<number>(o.replicas).fill(0);
  const seen = Array.from({ length: o.replicas }, () => new Set<string>());
  const window: number[] = [];
  const ring = new Ring(o.replicas);
  const inFlight = o.inFlight ?? 8;
  let hits = 0, loads = 0, rr = 0;
  for (const name of trace) {
    if (window.length === inFlight) load[window.shift()!]--;
    let r: number;
    if (o.policy === 'round-robin') r = rr++ % o.replicas;
    else {
      const order = ring.walk(name);
      const total = load.reduce((a, b) => a + b, 0) + 1;
      // HAProxy: a server is skipped while its load would exceed factor% of the average
      const cap = o.balanceFactor ? Math.ceil((total * o.balanceFactor) / 100 / o.replicas) : Infinity;
      r = order.find((s) => load[s] + 1 <= cap) ?? order[0];
    }
    window.push(r);
    load[r]++;
    served[r]++;
    seen[r].add(name);
    const cache = lru[r];
    if (cache.has(name)) { hits++; cache.delete(name); } else {
      loads++;
      if (cache.size >= o.maxLoras) cache.delete(cache.keys().next().value!);
    }
    cache.set(name, true);
  }
  return { hitRate: hits / trace.length, loadsPer1k: (1000 * loads) / trace.length, maxShare: Math.max(...served) / trace.length,
    adaptersPerReplica: seen.reduce((a, x) => a + x.size, 0) / o.replicas };
}
