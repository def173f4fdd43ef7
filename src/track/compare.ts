// Side-by-side comparison of runs: one row per config key and per final metric, with the rows whose values
// differ between runs marked ('*' in plain text, bold on a terminal). Pure: takes records, returns a table.
import type { RunRecord } from './types.js';

export interface CompareRow {
  readonly section: 'run' | 'config' | 'metric';
  readonly key: string;
  /** One cell per run, in the order the runs were given; '' when a run lacks the key. */
  readonly values: string[];
  readonly differs: boolean;
}
export interface CompareTable { readonly runIds: string[]; readonly rows: CompareRow[] }

/** Flattens nested config objects into dotted keys: {lora: {r: 8}} → {'lora.r': 8}. */
export function flatten(o: Readonly<Record<string, unknown>>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0)
      Object.assign(out, flatten(v as Record<string, unknown>, `${prefix}${k}.`));
    else out[prefix + k] = v;
  }
  return out;
}

const cell = (v: unknown): string => (v === undefined ? '' : typeof v === 'number' ? fmtNum(v) : typeof v === 'string' ? v : JSON.stringify(v));
function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-4 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(5)));
}

export function compareRuns(runs: readonly RunRecord[], finals: readonly Readonly<Record<string, number>>[]): CompareTable {
  const rows: CompareRow[] = [];
  const push = (section: CompareRow['section'], key: string, values: string[]): void => {
    rows.push({ section, key, values, differs: new Set(values).size > 1 });
  };
  push('run', 'kind', runs.map((r) => r.kind));
  push('run', 'name', runs.map((r) => r.name ?? ''));
  push('run', 'status', runs.map((r) => r.status));
  push('run', 'duration_s', runs.map((r) => (r.endedAt ? fmtNum(Math.round((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 100) / 10) : '')));
  const flat = runs.map((r) => flatten({ ...r.config, ...r.params }));
  for (const key of [...new Set(flat.flatMap((f) => Object.keys(f)))].sort()) push('config', key, flat.map((f) => cell(f[key])));
  for (const key of [...new Set(finals.flatMap((f) => Object.keys(f)))].sort()) push('metric', key, finals.map((f) => cell(f[key])));
  return { runIds: runs.map((r) => r.id), rows };
}

/** Plain text table; differing rows get a '*' marker (and bold when `ansi`). */
export function formatCompare(t: CompareTable, opts: { ansi?: boolean; onlyDiffs?: boolean } = {}): string {
  const rows = opts.onlyDiffs ? t.rows.filter((r) => r.differs || r.section === 'run') : t.rows;
  const head = ['', 'key', ...t.runIds];
  const body = rows.map((r) => [
    r.differs ? '*' : ' ',
    `${r.section === 'config' ? '' : r.section === 'metric' ? 'final.' : 'run.'}${r.key}`,
    ...r.values,
  ]);
  const w = head.map((_, i) => Math.max(head[i].length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  const out = [line(head), line(w.map((x) => '-'.repeat(x)))];
  for (let i = 0; i < body.length; i++) {
    const text = line(body[i]);
    out.push(opts.ansi && rows[i].differs ? `\x1b[1m${text}\x1b[0m` : text);
  }
  out.push('', "'*' marks rows whose values differ between runs");
  return out.join('\n');
}
