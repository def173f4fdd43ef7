// Progress reporting for long work: a one-line bar with rate and ETA on a TTY, or one JSON line per update
// for scripts (--json). Callers pass extra fields (loss, lr) that are shown beside the bar.
export interface ProgressOptions {
  readonly total: number;
  readonly label: string;
  readonly unit?: string;
  readonly json?: boolean;
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Minimum milliseconds between redraws on a TTY (JSON lines are written on every tick). */
  readonly minIntervalMs?: number;
}

export interface Progress {
  tick(done: number, fields?: Readonly<Record<string, string | number>>): void;
  finish(fields?: Readonly<Record<string, string | number>>): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

function fmtField(v: string | number): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(4);
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const start = performance.now();
  const tty = !opts.json && Boolean(stream.isTTY);
  let last = 0; // last TTY redraw
  let lastLine = 0; // last plain line (non-TTY: one every 5 s)
  const unit = opts.unit ?? 'it';
  const render = (done: number, fields: Readonly<Record<string, string | number>>, final: boolean): void => {
    const elapsed = (performance.now() - start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (opts.total - done) / rate : NaN;
    if (opts.json) {
      stream.write(
        JSON.stringify({
          event: final ? 'done' : 'progress',
          label: opts.label,
          done,
          total: opts.total,
          rate,
          eta_s: eta,
          elapsed_s: elapsed,
          ...fields,
        }) + '\n',
      );
      return;
    }
    const width = 24;
    const frac = opts.total > 0 ? Math.min(1, done / opts.total) : 1;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const extra = Object.entries(fields).map(([k, v]) => `${k} ${fmtField(v)}`).join(' · ');
    const line = `${opts.label} ${bar} ${done}/${opts.total} ${rate.toFixed(1)} ${unit}/s ` +
      `ETA ${final ? '0s' : formatDuration(eta)}${extra ? ' · ' + extra : ''}`;
    if (tty) stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else if (final || performance.now() - lastLine > 5000) {
      stream.write(line + '\n');
      lastLine = performance.now();
    }
  };
  return {
    tick(done, fields = {}) {
      const now = performance.now();
      if (!opts.json && tty && now - last < (opts.minIntervalMs ?? 100)) return;
      render(done, fields, false);
      last = now;
    },
    finish(fields = {}) {
      render(opts.total, fields, true);
    },
  };
}
