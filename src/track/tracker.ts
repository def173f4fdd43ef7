// The experiment tracker: every train, pretrain, eval, merge and export run is a row in LORAKIT_HOME/tracking.db (SQLite, WAL), with its
// step metrics and artifacts. Metrics are buffered in memory and written in batches so that logging every
// step costs microseconds. A run left 'running' by a process that no longer exists on this host is marked
// 'killed' the next time a Tracker opens (the crash leaves no other trace).
import Database from 'better-sqlite3';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { LorakitError } from '../errors.js';
import { readLines } from '../util/jsonl.js';
import { currentHost, lorakitHome } from './home.js';
import {
  type ArtifactRecord, type Lineage, type MetricPoint, type RunEnvironment, type RunHandle, type RunKind,
  type RunRecord, type RunStatus, type StartRunOptions, RUN_KINDS,
} from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT, status TEXT NOT NULL,
  config TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}', env TEXT NOT NULL, lineage TEXT NOT NULL DEFAULT '{}',
  summary TEXT NOT NULL DEFAULT '{}', pid INTEGER NOT NULL, proc_start TEXT, host TEXT NOT NULL,
  started_at TEXT NOT NULL, ended_at TEXT, run_dir TEXT);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
CREATE TABLE IF NOT EXISTS metrics (
  run_id TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL, value REAL, at REAL NOT NULL,
  PRIMARY KEY (run_id, key, step)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS artifacts (
  run_id TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, bytes INTEGER, created_at TEXT NOT NULL,
  PRIMARY KEY (run_id, name));
`;

const FLUSH_ROWS = 512;
const FLUSH_MS = 1000;

interface RunRow {
  id: string; kind: string; name: string | null; status: string; config: string; params: string; env: string; lineage: string;
  summary: string; pid: number; proc_start: string | null; host: string; started_at: string; ended_at: string | null; run_dir: string | null;
}

function fromRow(r: RunRow): RunRecord {
  return {
    id: r.id, kind: r.kind as RunKind, name: r.name, status: r.status as RunStatus, config: JSON.parse(r.config), params: JSON.parse(r.params),
    env: JSON.parse(r.env), lineage: JSON.parse(r.lineage), summary: JSON.parse(r.summary), pid: r.pid, host: r.host,
    startedAt: r.started_at, endedAt: r.ended_at, runDir: r.run_dir,
  };
}

let cachedVersion: string | undefined;
/** lorakit's version from the package.json above this file (works from src/ and from dist/). */
export function lorakitVersion(): string {
  if (cachedVersion) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lorakit') return (cachedVersion = pkg.version ?? '0.0.0');
    }
  }
  return (cachedVersion = 'unknown');
}

export function captureEnvironment(): RunEnvironment {
  const c = cpus();
  return {
    node: process.version, lorakit: lorakitVersion(), os: `${platform()} ${release()}`, arch: arch(),
    cpu: c[0]?.model?.trim() ?? 'unknown', cores: c.length, memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** The kernel's start time of a process (Linux /proc/<pid>/stat field 22), to tell a reused pid from the
 *  original process; undefined where /proc is absent. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]; // fields after "(comm)" start at field 3
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function newRunId(): string {
  const d = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15); // 20261129-050312
  return `${d}-${randomBytes(3).toString('hex')}`;
}

const openHandles = new Set<RunHandleImpl>();
let exitHookInstalled = false;

export interface ListRunsOptions { readonly kind?: string; readonly status?: RunStatus; readonly limit?: number }

export class Tracker {
  readonly home: string;
  readonly dbPath: string;
  /** Runs found crashed (marked 'killed') when this tracker opened. */
  readonly recovered: string[];
  private readonly db: Database.Database;

  constructor(home?: string) {
    this.home = lorakitHome(home);
    this.dbPath = join(this.home, 'tracking.db');
    try {
      this.db = new Database(this.dbPath);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 10000');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    } catch (e) {
      throw new LorakitError(
        'LK_REGISTRY',
        `cannot open the tracking database '${this.dbPath}': ${(e as Error).message}`,
        { cause: e, details: { file: this.dbPath } },
      );
    }
    this.recovered = this.markCrashedRuns();
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => { for (const h of openHandles) h.flushQuietly(); });
    }
  }

  static open(home?: string): Tracker { return new Tracker(home); }

  close(): void {
    for (const h of openHandles) if (h.tracker === this) h.flushQuietly();
    this.db.close();
  }

  /** Marks 'running' runs of dead processes on this host as 'killed'; returns their ids. */
  markCrashedRuns(): string[] {
    const host = currentHost();
    const rows = this.db
      .prepare("SELECT id, pid, proc_start FROM runs WHERE status = 'running' AND host = ?")
      .all(host) as { id: string; pid: number; proc_start: string | null }[];
    // dead: no such process, or the pid now belongs to a process that started later (pid reuse)
    const isDead = (r: (typeof rows)[number]): boolean => {
      if (r.pid === process.pid) return false;
      if (!isProcessAlive(r.pid)) return true;
      const now = r.proc_start ? processStartTime(r.pid) : undefined;
      return now !== undefined && now !== r.proc_start;
    };
    const dead = rows.filter(isDead);
    const mark = this.db.prepare(
      "UPDATE runs SET status = 'killed', ended_at = ?, summary = json_patch(summary, ?) WHERE id = ? AND status = 'running'",
    );
    const now = new Date().toISOString();
    for (const r of dead) {
      mark.run(
        now,
        JSON.stringify({ crashed: true, reason: `process ${r.pid} on ${host} ended without finishing the run` }),
        r.id,
      );
    }
    return dead.map((r) => r.id);
  }

  startRun(opts: StartRunOptions): RunHandle {
    if (!RUN_KINDS.includes(opts.kind)) {
      throw new LorakitError('LK_ARG', `startRun: 'kind' must be one of ${RUN_KINDS.join(', ')}; got ${JSON.stringify(opts.kind)}`);
    }
    const id = newRunId();
    this.db.prepare(`INSERT INTO runs (id, kind, name, status, config, env, lineage, pid, proc_start, host, started_at, run_dir)
      VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)`).run(id, opts.kind, opts.name ?? null, JSON.stringify(opts.config ?? {}),
      JSON.stringify(captureEnvironment()), JSON.stringify(opts.lineage ?? {}), process.pid,
      processStartTime(process.pid) ?? null, currentHost(), new Date().toISOString(),
      opts.runDir ? resolve(opts.runDir) : null);
    const h = new RunHandleImpl(this, id);
    openHandles.add(h);
    return h;
  }

  /** A run by full id or unique prefix. */
  getRun(idOrPrefix: string): RunRecord {
    const rows = this.db
      .prepare('SELECT * FROM runs WHERE id = ? OR id LIKE ? ORDER BY id LIMIT 3')
      .all(idOrPrefix, `${idOrPrefix.replace(/[%_]/g, '')}%`) as RunRow[];
    const exact = rows.find((r) => r.id === idOrPrefix);
    if (exact) return fromRow(exact);
    if (rows.length === 0) throw new LorakitError('LK_NOT_FOUND', `no run '${idOrPrefix}'`, { hint: "see 'lorakit runs list'" });
    if (rows.length > 1) throw new LorakitError('LK_ARG', `run id prefix '${idOrPrefix}' is ambiguous (${rows.map((r) => r.id).join(', ')}, ...)`);
    return fromRow(rows[0]);
  }

  listRuns(opts: ListRunsOptions = {}): RunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.kind) { where.push('kind = ?'); args.push(opts.kind); }
    if (opts.status) { where.push('status = ?'); args.push(opts.status); }
    const sql = `SELECT * FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY started_at DESC, id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, opts.limit ?? 1000) as RunRow[]).map(fromRow);
  }

  /** Step series per metric key (all keys, or those asked for), ordered by step. */
  metrics(runId: string, keys?: readonly string[]): Record<string, MetricPoint[]> {
    const rows = this.db
      .prepare('SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY key, step')
      .all(runId) as { key: string; step: number; value: number | null }[];
    const out: Record<string, MetricPoint[]> = {};
    for (const r of rows) {
      if (keys && !keys.includes(r.key)) continue;
      (out[r.key] ??= []).push({ step: r.step, value: r.value ?? NaN });
    }
    return out;
  }

  /** The last logged value of each metric (by step). */
  finalMetrics(runId: string): Record<string, number> {
    const rows = this.db.prepare(`SELECT m.key, m.value FROM metrics m JOIN (SELECT key, MAX(step) s FROM metrics WHERE run_id = ? GROUP BY key) l
      ON m.key = l.key AND m.step = l.s WHERE m.run_id = ?`).all(runId, runId) as { key: string; value: number | null }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.value ?? NaN]));
  }

  artifacts(runId: string): ArtifactRecord[] {
    return (this.db.prepare('SELECT * FROM artifacts WHERE run_id = ? ORDER BY created_at, name').all(runId) as
      { run_id: string; name: string; path: string; kind: string; bytes: number | null; created_at: string }[])
      .map((a) => ({ runId: a.run_id, name: a.name, path: a.path, kind: a.kind, bytes: a.bytes, createdAt: a.created_at }));
  }

  updateLineage(runId: string, patch: Lineage): void {
    const r = this.db.prepare('UPDATE runs SET lineage = json_patch(lineage, ?) WHERE id = ?').run(JSON.stringify(patch), runId);
    if (r.changes === 0) throw new LorakitError('LK_NOT_FOUND', `no run '${runId}'`);
  }

  /** Imports the trainer's metrics.jsonl ({step, loss, lr, ...} per line); idempotent (same step replaces). */
  async importMetricsJsonl(runId: string, path: string): Promise<number> {
    this.getRun(runId);
    const batch: [string, number, Record<string, number>, number][] = [];
    const at = Date.now() / 1000;
    for await (const { line, text } of readLines(path)) {
      let row: Record<string, unknown>;
      try { row = JSON.parse(text); } catch (e) {
        throw new LorakitError('LK_IO', `${path}:${line}: not JSON: ${(e as Error).message}`, { details: { file: path, line } });
      }
      const step = row.step;
      if (typeof step !== 'number' || !Number.isInteger(step)) {
        throw new LorakitError('LK_IO', `${path}:${line}: 'step' must be an integer, got ${JSON.stringify(step)}`, {
          details: { file: path, line },
        });
      }
      const m: Record<string, number> = {};
      for (const [k, v] of Object.entries(row)) if (k !== 'step' && typeof v === 'number') m[k] = v;
      batch.push([runId, step, m, at]);
    }
    return this.writeMetricRows(batch);
  }

  /** @internal used by RunHandle */
  writeMetricRows(rows: readonly (readonly [string, number, Readonly<Record<string, number>>, number])[]): number {
    const ins = this.db.prepare('INSERT OR REPLACE INTO metrics (run_id, key, step, value, at) VALUES (?, ?, ?, ?, ?)');
    let n = 0;
    const write = this.db.transaction(() => {
      for (const [id, step, m, at] of rows) for (const [k, v] of Object.entries(m)) { ins.run(id, k, step, Number.isFinite(v) ? v : null, at); n++; }
    });
    write();
    return n;
  }

  /** @internal */
  exec(sql: string, ...args: unknown[]): number {
    return this.db.prepare(sql).run(...args).changes;
  }
}

class RunHandleImpl implements RunHandle {
  private buffer: [string, number, Readonly<Record<string, number>>, number][] = [];
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(readonly tracker: Tracker, readonly id: string) {}

  logMetrics(step: number, metrics: Readonly<Record<string, number>>): void {
    if (this.done) throw new LorakitError('LK_REGISTRY', `run ${this.id} is finished; cannot log metrics`);
    if (!Number.isInteger(step) || step < 0) throw new LorakitError('LK_ARG', `logMetrics: 'step' must be an integer >= 0, got ${step}`);
    this.buffer.push([this.id, step, { ...metrics }, Date.now() / 1000]);
    if (this.buffer.length >= FLUSH_ROWS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flushQuietly(), FLUSH_MS);
      this.timer.unref();
    }
  }

  logParams(params: Readonly<Record<string, unknown>>): void {
    this.tracker.exec('UPDATE runs SET params = json_patch(params, ?) WHERE id = ?', JSON.stringify(params), this.id);
  }

  logArtifact(name: string, path: string, kind: string): void {
    const abs = resolve(path);
    let bytes: number | null = null;
    try { const st = statSync(abs); bytes = st.isFile() ? st.size : null; } catch { /* recorded even if not written yet */ }
    this.tracker.exec('INSERT OR REPLACE INTO artifacts (run_id, name, path, kind, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      this.id, name, abs, kind, bytes, new Date().toISOString());
  }

  setLineage(patch: Lineage): void { this.tracker.updateLineage(this.id, patch); }

  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    this.tracker.writeMetricRows(rows);
  }

  flushQuietly(): void {
    try { this.flush(); } catch { /* the database is closed or gone: nothing more to save */ }
  }

  finish(status: Exclude<RunStatus, 'running'>, summary: Readonly<Record<string, unknown>> = {}): void {
    if (!['finished', 'failed', 'killed'].includes(status))
      throw new LorakitError('LK_ARG', `finish: status must be finished, failed or killed; got '${status}'`);
    this.flush();
    this.done = true;
    openHandles.delete(this);
    this.tracker.exec('UPDATE runs SET status = ?, ended_at = ?, summary = json_patch(summary, ?) WHERE id = ?',
      status, new Date().toISOString(), JSON.stringify(summary), this.id);
  }
}
