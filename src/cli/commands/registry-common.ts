// Helpers shared by the `registry *` and `runs *` verbs: positional checks and plain-text tables.
import { LorakitError } from '../../errors.js';

/** Returns exactly `names.length` positionals or throws LK_ARG naming what is missing. */
export function needPositionals(verb: string, positionals: readonly string[], names: readonly string[], optional = 0): string[] {
  const min = names.length - optional;
  if (positionals.length < min || positionals.length > names.length) {
    throw new LorakitError('LK_ARG',
      `${verb}: expected ${names.map((n, i) => (i >= min ? `[${n}]` : n)).join(' ')}, ` +
        `got ${positionals.length ? positionals.map((p) => `'${p}'`).join(' ') : 'nothing'}`,
      { hint: `run 'lorakit ${verb} --help'` });
  }
  return [...positionals];
}

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (c ?? '').padEnd(w[i])).join('  ').trimEnd();
  return [line(head), line(w.map((x) => '-'.repeat(x))), ...rows.map(line)].join('\n');
}

export const fmtBytes = (n: number): string =>
  n >= 2 ** 30
    ? `${(n / 2 ** 30).toFixed(2)} GiB`
    : n >= 2 ** 20
      ? `${(n / 2 ** 20).toFixed(1)} MiB`
      : n >= 1024
        ? `${(n / 1024).toFixed(1)} KiB`
        : `${n} B`;
export const fmtMetrics = (m: Readonly<Record<string, number>>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : Number(v.toPrecision(4))}`)
    .join(' ');
export const fmtTime = (iso: string | null): string => (iso ? iso.replace('T', ' ').slice(0, 19) : '');

/** --store on every registry verb: which metadata store (sqlite:PATH or postgres://…). */
export const storeFlag = {
  arg: '<url>',
  help: 'registry store: sqlite:PATH or postgres://user@host/db (default: $LORAKIT_STORE, else SQLite under LORAKIT_HOME)',
} as const;
