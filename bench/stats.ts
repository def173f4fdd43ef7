// Timing statistics shared by every bench area: the machine is shared and noisy, so each figure is the MEDIAN of
// several runs taken in interleaved rounds (every contender once per round, in the same order), never the best.
// LK_BENCH_ROUNDS sets the number of rounds (default 3); each table says how many it used.

export const rounds = (fallback = 3): number => {
  const n = Number(process.env.LK_BENCH_ROUNDS);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs each contender once per round, alternating, for `n` rounds; returns each contender's samples in input order.
 * A contender may return null (e.g. a reference that refused to run); its samples then skip that round.
 */
export async function interleave<T>(n: number, contenders: readonly (() => Promise<T | null>)[]): Promise<T[][]> {
  const out: T[][] = contenders.map(() => []);
  for (let r = 0; r < n; r++) {
    for (const [i, f] of contenders.entries()) {
      const v = await f();
      if (v !== null) out[i].push(v);
    }
  }
  return out;
}

/** The median of one numeric field across samples, or null when there are none. */
export const medianOf = <T>(xs: readonly T[], f: (x: T) => number): number | null => (xs.length ? median(xs.map(f)) : null);
