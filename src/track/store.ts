// Where the tracker keeps runs, step metrics and artifacts: one store over any SqlDriver (db/), so tracking
// behaves the same on the embedded SQLite file (LORAKIT_HOME/tracking.db) and on a shared PostgreSQL. JSON
// columns (config, params, env, lineage, summary) are text; patches are merged here (RFC 7396) inside one
// transaction, so both databases give the same result. Metrics are upserted in multi-row batches.
import { LorakitError } from '../errors.js';
import type { Migration, SqlDriver } from '../db/sql.js';
import type { ArtifactRecord, RunKind, RunRecord, RunStatus } from './types.js';

export const TRACKING_SQLITE_MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'tracking schema', sql: `
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
` }];

export const TRACKING_PG_MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'tracking schema', sql: `
CREATE TABLE runs (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT, status TEXT NOT NULL,
  config TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}', env TEXT NOT NULL, lineage TEXT NOT NULL DEFAULT '{}',
  summary TEXT NOT NULL DEFAULT '{}', pid INTEGER NOT NULL, proc_start TEXT, host TEXT NOT NULL,
  started_at TEXT NOT NULL, ended_at TEXT, run_dir TEXT);
CREATE INDEX runs_started ON runs(started_at);
CREATE INDEX runs_running ON runs(host, status);
CREATE TABLE metrics (
  run_id TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL, value DOUBLE PRECISION, at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (run_id, key, step));
CREATE TABLE artifacts (
  run_id TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, bytes BIGINT, created_at TEXT NOT NULL,
  PRIMARY KEY (run_id, name));
` }];

interface RunRow {
  id: string; kind: string; name: string | null; status: string; config: string; params: string; env: string; lineage: string;
  summary: string; pid: number; proc_start: string | null; host: string; started_at: string; ended_at: string | null; run_dir: string | null;
}
const fromRow = (r: RunRow): RunRecord => ({
  id: r.id, kind: r.kind as RunKind, name: r.name, status: r.status as RunStatus, config: JSON.parse(r.config), params: JSON.parse(r.params),
  env: JSON.parse(r.env), lineage: JSON.parse(r.lineage), summary: JSON.parse(r.summary), pid: Number(r.pid), host: r.host,
  startedAt: r.started_at, endedAt: r.ended_at, runDir: r.run_dir,
});

/** A new run's row. */
export interface RunInsert {
  readonly id: string; readonly kind: RunKind; readonly name: string | null; readonly config: Record<string, unknown>; readonly env: object;
  readonly lineage: object;
  readonly pid: number;
  readonly procStart: string | null;
  readonly host: string;
  readonly startedAt: string;
  readonly runDir: string | null;
}
/** What a change to a run sets: JSON patches are merged into the stored objects (RFC 7396: null removes a key). */
export interface RunPatch {
  readonly status?: RunStatus; readonly endedAt?: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly lineage?: Readonly<Record<string, unknown>>;
  readonly summary?: Readonly<Record<string, unknown>>;
}
/** [runId, step, {key: value}, at (unix seconds)] */
export type MetricRow = readonly [string, number, Readonly<Record<string, number>>, number];

/** RFC 7396 JSON merge patch, the rule SQLite's json_patch follows. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const BATCH_ROWS = 500; // 5 parameters a row: far below SQLite's and PostgreSQL's limits
const PG_ARRAY_ROWS = 20_000;

export class TrackingStore {
  constructor(readonly driver: SqlDriver) {}

  async close(): Promise<void> { await this.driver.close(); }

  async insertRun(r: RunInsert): Promise<void> {
    await this.driver.run(`INSERT INTO runs (id, kind, name, status, config, env, lineage, pid, proc_start, host, started_at, run_dir)
      VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)`, r.id, r.kind, r.name, JSON.stringify(r.config), JSON.stringify(r.env),
    JSON.stringify(r.lineage), r.pid, r.procStart, r.host, r.startedAt, r.runDir);
  }

  /** Up to 3 runs whose id is `idOrPrefix` or starts with it. */
  async findRuns(idOrPrefix: string): Promise<RunRecord[]> {
    const rows = await this.driver.all<RunRow>(
      'SELECT * FROM runs WHERE id = ? OR id LIKE ? ORDER BY id LIMIT 3',
      idOrPrefix,
      `${idOrPrefix.replace(/[%_\\]/g, '')}%`,
    );
    return rows.map(fromRow);
  }

  async listRuns(o: { kind?: string; status?: RunStatus; limit?: number } = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (o.kind) { where.push('kind = ?'); args.push(o.kind); }
    if (o.status) { where.push('status = ?'); args.push(o.status); }
    const sql = `SELECT * FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY started_at DESC, id DESC LIMIT ?`;
    return (await this.driver.all<RunRow>(sql, ...args, o.limit ?? 1000)).map(fromRow);
  }

  /** Runs still 'running' that were started on `host` (the tracker checks whether their process lives). */
  async runningOn(host: string): Promise<{ id: string; pid: number; procStart: string | null }[]> {
    const rows = await this.driver.all<{ id: string; pid: number; proc_start: string | null }>(
      "SELECT id, pid, proc_start FROM runs WHERE status = 'running' AND host = ?",
      host,
    );
    return rows.map((r) => ({ id: r.id, pid: Number(r.pid), procStart: r.proc_start }));
  }

  /** Applies `p` to run `id` in one transaction; with `onlyIfRunning`, a run that has ended already is left alone.
   *  Returns whether the run was changed; LK_NOT_FOUND when there is no such run. */
  async patchRun(id: string, p: RunPatch, opts: { onlyIfRunning?: boolean } = {}): Promise<boolean> {
    return this.driver.tx(async (q) => {
      await this.driver.lock(q, `run:${id}`);
      const r = await q.get<Pick<RunRow, 'status' | 'params' | 'lineage' | 'summary'>>(
        'SELECT status, params, lineage, summary FROM runs WHERE id = ?',
        id,
      );
      if (!r) throw new LorakitError('LK_NOT_FOUND', `no run '${id}'`, { hint: "see 'lorakit runs list'" });
      if (opts.onlyIfRunning && r.status !== 'running') return false;
      const merged = (stored: string, patch: Readonly<Record<string, unknown>> | undefined): string =>
        patch ? JSON.stringify(mergePatch(JSON.parse(stored), patch)) : stored;
      await q.run('UPDATE runs SET status = ?, ended_at = COALESCE(?, ended_at), params = ?, lineage = ?, summary = ? WHERE id = ?',
        p.status ?? r.status, p.endedAt ?? null, merged(r.params, p.params), merged(r.lineage, p.lineage), merged(r.summary, p.summary), id);
      return true;
    });
  }

  /** Upserts metric points (the same run, key and step replaces); returns how many values were written. */
  async writeMetrics(rows: readonly MetricRow[]): Promise<number> {
    const flat = flatten(rows);
    if (flat.length === 0) return 0;
    const statements = this.driver.dialect === 'postgres' ? arrayBatches(flat) : batches(flat);
    await this.driver.tx(async (q) => { for (const [sql, args] of statements) await q.run(sql, ...args); });
    return flat.length;
  }

  /** writeMetrics without awaiting, where the driver can (SQLite), for a process 'exit' handler; false otherwise. */
  writeMetricsSync(rows: readonly MetricRow[]): boolean {
    const runSync = this.driver.runSync?.bind(this.driver);
    if (!runSync) return false;
    for (const [sql, args] of batches(flatten(rows))) runSync(sql, ...args);
    return true;
  }

  async metrics(runId: string): Promise<{ key: string; step: number; value: number | null }[]> {
    const rows = await this.driver.all<{ key: string; step: number; value: number | null }>(
      'SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY key, step',
      runId,
    );
    return rows.map((r) => ({ key: r.key, step: Number(r.step), value: r.value === null ? null : Number(r.value) }));
  }

  /** The last logged value (by step) of each metric of each run. */
  async finalMetrics(runIds: readonly string[]): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>(runIds.map((id) => [id, {}]));
    for (let i = 0; i < runIds.length; i += BATCH_ROWS) {
      const ids = runIds.slice(i, i + BATCH_ROWS);
      const marks = ids.map(() => '?').join(', ');
      const rows = await this.driver.all<{ run_id: string; key: string; value: number | null }>(`SELECT m.run_id, m.key, m.value FROM metrics m
        JOIN (SELECT run_id, key, MAX(step) AS s FROM metrics WHERE run_id IN (${marks}) GROUP BY run_id, key) l
        ON m.run_id = l.run_id AND m.key = l.key AND m.step = l.s`, ...ids);
      for (const r of rows) out.get(r.run_id)![r.key] = r.value === null ? NaN : Number(r.value);
    }
    return out;
  }

  async putArtifact(a: ArtifactRecord): Promise<void> {
    await this.driver.run(`INSERT INTO artifacts (run_id, name, path, kind, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id, name) DO UPDATE SET path = excluded.path, kind = excluded.kind, bytes = excluded.bytes, created_at = excluded.created_at`,
    a.runId, a.name, a.path, a.kind, a.bytes, a.createdAt);
  }

  async artifacts(runId: string): Promise<ArtifactRecord[]> {
    const rows = await this.driver.all<{ run_id: string; name: string; path: string; kind: string; bytes: number | null; created_at: string }>(
      'SELECT * FROM artifacts WHERE run_id = ? ORDER BY created_at, name', runId);
    return rows.map((a) => ({
      runId: a.run_id,
      name: a.name,
      path: a.path,
      kind: a.kind,
      bytes: a.bytes === null ? null : Number(a.bytes),
      createdAt: a.created_at,
    }));
  }
}

type Point = [string, string, number, number | null, number];

/** One value per (run, key, step), the last one logged: a multi-row upsert may not touch a row twice. */
function flatten(rows: readonly MetricRow[]): Point[] {
  const last = new Map<string, Point>();
  for (const [id, step, m, at] of rows) {
    for (const [k, v] of Object.entries(m)) last.set(`${id}\u0000${k}\u0000${step}`, [id, k, step, Number.isFinite(v) ? v : null, at]);
  }
  return [...last.values()];
}

const UPSERT = 'ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, at = excluded.at';

/** PostgreSQL: five array parameters per statement (unnest), so a flush of thousands of points is a few round trips. */
function* arrayBatches(points: readonly Point[]): Generator<[string, unknown[]]> {
  for (let i = 0; i < points.length; i += PG_ARRAY_ROWS) {
    const chunk = points.slice(i, i + PG_ARRAY_ROWS);
    const col = (k: number): unknown[] => chunk.map((p) => p[k]);
    yield [`INSERT INTO metrics (run_id, key, step, value, at)
      SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS integer[]), ` +
      `CAST(? AS double precision[]), CAST(? AS double precision[])) ${UPSERT}`,
    [col(0), col(1), col(2), col(3), col(4)]];
  }
}

function* batches(points: readonly Point[]): Generator<[string, unknown[]]> {
  for (let i = 0; i < points.length; i += BATCH_ROWS) {
    const chunk = points.slice(i, i + BATCH_ROWS);
    yield [`INSERT INTO metrics (run_id, key, step, value, at) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}
      ${UPSERT}`, chunk.flat()];
  }
}

