// Scores with confidence intervals: a seeded, paired percentile bootstrap over items (documents or windows for
// perplexity, questions for accuracy). Base and adapter are resampled with the same indices, so the interval of
// the delta reflects only how the two models differ on the same items. Per tag, tasks are pooled (tokens for
// perplexity, items for accuracy) with each task's own resampled indices (a stratified bootstrap).
import { Rng } from '../util/rng.js';
import type { Estimate, Tag, TagResult, TaskResult, TaskSpec } from './types.js';

/** Per-item values of one model on one task. */
export type ItemValues =
  | { readonly metric: 'perplexity'; readonly nll: Float64Array; readonly tokens: Float64Array }
  | { readonly metric: 'accuracy'; readonly correct: Float64Array };

export interface TaskData {
  readonly task: TaskSpec;
  readonly detail: string;
  readonly base: ItemValues;
  readonly adapter: ItemValues | null;
  readonly extra: Readonly<Record<string, { readonly base: number; readonly adapter: number | null }>>;
  readonly scoredTokens: number | null;
}

/** Sufficient statistics of one resample: Σnll and Σtokens (perplexity) or Σcorrect and n (accuracy). */
interface Sums { num: Float64Array; den: Float64Array }
interface Resampled { readonly base: Sums; readonly adapter: Sums | null }

/** FNV-1a, so that each task's resampling depends on the seed and its name only (not on task order). */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const parts = (v: ItemValues): [Float64Array, Float64Array | null] => (v.metric === 'perplexity' ? [v.nll, v.tokens] : [v.correct, null]);
const value = (metric: ItemValues['metric'], num: number, den: number): number => (metric === 'perplexity' ? Math.exp(num / den) : (100 * num) / den);
const delta = (metric: ItemValues['metric'], b: number, a: number): number => (metric === 'perplexity' ? (a / b - 1) * 100 : a - b);

function resample(d: TaskData, B: number, seed: number): Resampled {
  const rng = new Rng((seed ^ hashName(d.task.name)) >>> 0);
  const [bn, bd] = parts(d.base);
  const [an, ad] = d.adapter ? parts(d.adapter) : [null, null];
  const n = bn.length;
  const base: Sums = { num: new Float64Array(B), den: new Float64Array(B) };
  const adapter: Sums | null = an ? { num: new Float64Array(B), den: new Float64Array(B) } : null;
  for (let b = 0; b < B; b++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < n; k++) {
      const i = rng.int(n);
      s0 += bn[i]; s1 += bd ? bd[i] : 1;
      if (an) { s2 += an[i]; s3 += ad ? ad[i] : 1; }
    }
    base.num[b] = s0; base.den[b] = s1;
    if (adapter) { adapter.num[b] = s2; adapter.den[b] = s3; }
  }
  return { base, adapter };
}

/** The (1-c)/2 and (1+c)/2 percentiles, linearly interpolated. */
export function percentileInterval(values: ArrayLike<number>, confidence: number): [number, number] {
  const s = Float64Array.from(values).sort();
  const at = (q: number): number => {
    const x = q * (s.length - 1), lo = Math.floor(x), hi = Math.ceil(x);
    return s[lo] + (s[hi] - s[lo]) * (x - lo);
  };
  return [at((1 - confidence) / 2), at((1 + confidence) / 2)];
}

function estimates(
  metric: ItemValues['metric'],
  full: { base: [number, number]; adapter: [number, number] | null },
  r: Resampled,
  confidence: number,
): Pick<TaskResult, 'base' | 'adapter' | 'delta' | 'regression'> {
  const B = r.base.num.length;
  const vb = new Float64Array(B), va = new Float64Array(B), dv = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    vb[b] = value(metric, r.base.num[b], r.base.den[b]);
    if (r.adapter) { va[b] = value(metric, r.adapter.num[b], r.adapter.den[b]); dv[b] = delta(metric, vb[b], va[b]); }
  }
  const baseV = value(metric, ...full.base);
  const base: Estimate = { value: baseV, ci: percentileInterval(vb, confidence) };
  if (!full.adapter || !r.adapter) return { base, adapter: null, delta: null, regression: null };
  const adV = value(metric, ...full.adapter);
  const d = delta(metric, baseV, adV);
  const dci = percentileInterval(dv, confidence);
  return {
    base, adapter: { value: adV, ci: percentileInterval(va, confidence) },
    delta: { value: d, ci: dci, unit: metric === 'perplexity' ? 'pct' : 'pts' },
    // Positive = worse: a perplexity rise, an accuracy drop.
    regression: metric === 'perplexity' ? { value: d, ci: dci } : { value: -d, ci: [-dci[1], -dci[0]] },
  };
}

const total = (v: ItemValues): [number, number] => {
  const [num, den] = parts(v);
  let a = 0, b = 0;
  for (let i = 0; i < num.length; i++) { a += num[i]; b += den ? den[i] : 1; }
  return [a, b];
};

/** Task and tag results with paired bootstrap intervals. */
export function summarize(
  data: readonly TaskData[],
  o: { bootstrap: number; seed: number; confidence: number },
): { tasks: TaskResult[]; tags: TagResult[] } {
  const resampled = data.map((d) => resample(d, o.bootstrap, o.seed));
  const tasks: TaskResult[] = data.map((d, i) => ({
    name: d.task.name, type: d.task.type, tag: d.task.tag, metric: d.base.metric, metric_detail: d.detail,
    items: parts(d.base)[0].length, scored_tokens: d.scoredTokens,
    ...estimates(d.base.metric, { base: total(d.base), adapter: d.adapter ? total(d.adapter) : null }, resampled[i], o.confidence),
    extra: d.extra, gated: d.task.gated, max_regression_pct: d.task.maxRegressionPct,
  }));
  const tags: TagResult[] = [];
  for (const tag of ['domain', 'general'] as Tag[]) {
    for (const metric of ['perplexity', 'accuracy'] as const) {
      const idx = data.map((d, i) => i).filter((i) => data[i].task.tag === tag && data[i].base.metric === metric);
      if (idx.length === 0) continue;
      const B = o.bootstrap, hasAdapter = idx.every((i) => data[i].adapter !== null);
      const pooled: Resampled = {
        base: { num: new Float64Array(B), den: new Float64Array(B) },
        adapter: hasAdapter ? { num: new Float64Array(B), den: new Float64Array(B) } : null,
      };
      const full = { base: [0, 0] as [number, number], adapter: hasAdapter ? [0, 0] as [number, number] : null };
      for (const i of idx) {
        const r = resampled[i];
        for (let b = 0; b < B; b++) {
          pooled.base.num[b] += r.base.num[b]; pooled.base.den[b] += r.base.den[b];
          if (pooled.adapter && r.adapter) { pooled.adapter.num[b] += r.adapter.num[b]; pooled.adapter.den[b] += r.adapter.den[b]; }
        }
        const tb = total(data[i].base);
        full.base[0] += tb[0]; full.base[1] += tb[1];
        if (full.adapter) { const ta = total(data[i].adapter!); full.adapter[0] += ta[0]; full.adapter[1] += ta[1]; }
      }
      const e = estimates(metric, full, pooled, o.confidence);
      tags.push({ tag, metric, tasks: idx.map((i) => data[i].task.name), base: e.base, adapter: e.adapter, delta: e.delta });
    }
  }
  return { tasks, tags };
}
