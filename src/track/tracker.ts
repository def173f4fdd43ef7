// The experiment tracker: every train, pretrain, eval, merge and export run is a row with its step metrics and artifacts, in
// LORAKIT_HOME/tracking.db (SQLite, WAL) or, with LORAKIT_STORE=postgres://…, in the shared PostgreSQL beside the
// registry (store.ts holds the SQL, the same for both). Metrics are buffered in memory and written in batches, so
// logging every step costs microseconds. A run left 'running' by a process that no longer exists on this host is
// marked 'killed' the next time a Tracker opens (the crash leaves no other trace).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { openPostgres } from '../db/postgres.js';
import { openSqlite } from '../db/sqlite.js';
import { parseStoreUrl, storeSetting, trackingDbPath } from '../db/url.js';
import { LorakitError } from '../errors.js';
import { readLines } from '../util/jsonl.js';
import { currentHost, lorakitHome } from './home.js';
import { TRACKING_PG_MIGRATIONS, TRACKING_SQLITE_MIGRATIONS, TrackingStore, type MetricRow } from './store.js';
import {
  type ArtifactRecord, type Lineage, type MetricPoint, type RunEnvironment, type RunHandle, type RunRecord,
  type RunStatus, type StartRunOptions, RUN_KINDS,
} from './types.js';

const FLUSH_ROWS = 512;
const FLUSH_MS = 1000;

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
export interface TrackerOptions {
  /** 'sqlite:PATH' (runs in tracking.db beside PATH) or 'postgres://…' (default: $LORAKIT_STORE, else <home>/tracking.db). */
  readonly store?: string;
}

export class Tracker {
  /** Runs found crashed (marked 'killed') when this tracker opened. */
  recovered: string[] = [];
  /** Every run handle of this tracker, finished ones too: close() waits for their queued writes. */
  private readonly handles = new Set<RunHandleImpl>();

  private constructor(readonly home: string, readonly store: TrackingStore, readonly location: string) {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => { for (const h of openHandles) h.flushAtExit(); });
    }
  }

  /** Opens the tracking store (creating or migrating its tables) and marks crashed runs of this host as killed. */
  static async open(home?: string, opts: TrackerOptions = {}): Promise<Tracker> {
    const h = lorakitHome(home);
    const u = parseStoreUrl(storeSetting(opts.store), h);
    const { driver, ready } = u.kind === 'sqlite' ? openSqlite(trackingDbPath(u), 'tracking', TRACKING_SQLITE_MIGRATIONS, 10_000)
      : openPostgres(u.url, 'tracking', TRACKING_PG_MIGRATIONS, { maxConnections: 2 });
    const t = new Tracker(h, new TrackingStore(driver), driver.location);
    try {
      await ready;
      t.recovered = await t.markCrashedRuns();
    } catch (e) {
      await driver.close().catch(() => undefined);
      if (e instanceof LorakitError) throw e;
      throw new LorakitError(
        'LK_REGISTRY',
        `cannot open the tracking database '${driver.location}': ${(e as Error).message}`,
        { cause: e, details: { location: driver.location } },
      );
    }
    return t;
  }

  async close(): Promise<void> {
    for (const h of this.handles) await h.flush().catch(() => undefined);
    this.handles.clear();
    await this.store.close();
  }

  /** Marks 'running' runs of dead processes on this host as 'killed'; returns their ids. */
  async markCrashedRuns(): Promise<string[]> {
    const host = currentHost();
    // dead: no such process, or the pid now belongs to a process that started later (pid reuse)
    const isDead = (r: { pid: number; procStart: string | null }): boolean => {
      if (r.pid === process.pid) return false;
      if (!isProcessAlive(r.pid)) return true;
      const now = r.procStart ? processStartTime(r.pid) : undefined;
      return now !== undefined && now !== r.procStart;
    };
    const dead: string[] = [];
    const endedAt = new Date().toISOString();
    for (const r of (await this.store.runningOn(host)).filter(isDead)) {
      const summary = { crashed: true, reason: `process ${r.pid} on ${host} ended without finishing the run` };
      if (await this.store.patchRun(r.id, { status: 'killed', endedAt, summary }, { onlyIfRunning: true })) dead.push(r.id);
    }
    return dead;
  }

  async startRun(opts: StartRunOptions): Promise<RunHandle> {
    if (!RUN_KINDS.includes(opts.kind)) {
      throw new LorakitError(
        'LK_ARG',
        `startRun: 'kind' must be one of ${RUN_KINDS.join(', ')}; got ${JSON.stringify(opts.kind)}`,
      );
    }
    const id = newRunId();
    await this.store.insertRun({
      id, kind: opts.kind, name: opts.name ?? null, config: opts.config ?? {}, env: captureEnvironment(), lineage: opts.lineage ?? {},
      pid: process.pid, procStart: processStartTime(process.pid) ?? null, host: currentHost(), startedAt: new Date().toISOString(),
      runDir: opts.runDir ? resolve(opts.runDir) : null,
    });
    const h = new RunHandleImpl(this, id);
    openHandles.add(h);
    this.handles.add(h);
    return h;
  }

  /** A run by full id or unique prefix. */
  async getRun(idOrPrefix: string): Promise<RunRecord> {
    const rows = await this.store.findRuns(idOrPrefix);
    const exact = rows.find((r) => r.id === idOrPrefix);
    if (exact) return exact;
    if (rows.length === 0) throw new LorakitError('LK_NOT_FOUND', `no run '${idOrPrefix}'`, { hint: "see 'lorakit runs list'" });
    if (rows.length > 1) throw new LorakitError('LK_ARG', `run id prefix '${idOrPrefix}' is ambiguous (${rows.map((r) => r.id).join(', ')}, ...)`);
    return rows[0];
  }

  async listRuns(opts: ListRunsOptions = {}): Promise<RunRecord[]> { return this.store.listRuns(opts); }

  /** Step series per metric key (all keys, or those asked for), ordered by step. */
  async metrics(runId: string, keys?: readonly string[]): Promise<Record<string, MetricPoint[]>> {
    const out: Record<string, MetricPoint[]> = {};
    for (const r of await this.store.metrics(runId)) {
      if (keys && !keys.includes(r.key)) continue;
      (out[r.key] ??= []).push({ step: r.step, value: r.value ?? NaN });
    }
    return out;
  }

  /** The last logged value of each metric (by step). */
  async finalMetrics(runId: string): Promise<Record<string, number>> { return (await this.store.finalMetrics([runId])).get(runId)!; }

  /** finalMetrics of many runs in one query. */
  async finalMetricsOf(runIds: readonly string[]): Promise<Map<string, Record<string, number>>> { return this.store.finalMetrics(runIds); }

  async artifacts(runId: string): Promise<ArtifactRecord[]> { return this.store.artifacts(runId); }

  async updateLineage(runId: string, patch: Lineage): Promise<void> { await this.store.patchRun(runId, { lineage: patch }); }

  /** Imports the trainer's metrics.jsonl ({step, loss, lr, ...} per line); idempotent (same step replaces). */
  async importMetricsJsonl(runId: string, path: string): Promise<number> {
    await this.getRun(runId);
    const batch: MetricRow[] = [];
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
    return this.store.writeMetrics(batch);
  }
}

/**
 * A run being recorded. logMetrics only buffers; logParams, logArtifact and setLineage queue their write. Writes
 * run in order in the background; flush() and finish() wait for them and reject with the first that failed.
 */
class RunHandleImpl implements RunHandle {
  private buffer: MetricRow[] = [];
  /** Batches taken from the buffer and not yet written: the exit handler writes them if the process ends first. */
  private readonly pending = new Set<MetricRow[]>();
  private queue: Promise<void> = Promise.resolve();
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(readonly tracker: Tracker, readonly id: string) {}

  private enqueue(write: () => Promise<unknown>): void {
    this.queue = this.queue.then(write).then(() => undefined, (e: unknown) => { this.failure ??= e; });
  }

  private live(what: string): void {
    if (this.done) throw new LorakitError('LK_REGISTRY', `run ${this.id} is finished; cannot ${what}`);
  }

  logMetrics(step: number, metrics: Readonly<Record<string, number>>): void {
    this.live('log metrics');
    if (!Number.isInteger(step) || step < 0) throw new LorakitError('LK_ARG', `logMetrics: 'step' must be an integer >= 0, got ${step}`);
    this.buffer.push([this.id, step, { ...metrics }, Date.now() / 1000]);
    if (this.buffer.length >= FLUSH_ROWS) this.writeBuffer();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.writeBuffer(), FLUSH_MS);
      this.timer.unref();
    }
  }

  private writeBuffer(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    this.pending.add(rows);
    this.enqueue(async () => { await this.tracker.store.writeMetrics(rows); this.pending.delete(rows); });
  }

  logParams(params: Readonly<Record<string, unknown>>): void {
    this.live('log params');
    this.enqueue(() => this.tracker.store.patchRun(this.id, { params }));
  }

  logArtifact(name: string, path: string, kind: string): void {
    this.live('log artifacts');
    const abs = resolve(path);
    let bytes: number | null = null;
    try { const st = statSync(abs); bytes = st.isFile() ? st.size : null; } catch { /* recorded even if not written yet */ }
    const rec: ArtifactRecord = { runId: this.id, name, path: abs, kind, bytes, createdAt: new Date().toISOString() };
    this.enqueue(() => this.tracker.store.putArtifact(rec));
  }

  setLineage(patch: Lineage): void { this.enqueue(() => this.tracker.store.patchRun(this.id, { lineage: patch })); }

  async flush(): Promise<void> {
    this.writeBuffer();
    await this.queue;
    const e = this.failure;
    this.failure = undefined;
    if (e !== undefined) throw e;
  }

  /** On process exit no promise runs any more: write what is left synchronously where the store can (SQLite). */
  flushAtExit(): void {
    const rows = [...this.pending, this.buffer].flat();
    try { this.tracker.store.writeMetricsSync(rows); } catch { /* the database is closed or gone: nothing more to save */ }
  }

  async finish(status: Exclude<RunStatus, 'running'>, summary: Readonly<Record<string, unknown>> = {}): Promise<void> {
    if (!['finished', 'failed', 'killed'].includes(status))
      throw new LorakitError('LK_ARG', `finish: status must be finished, failed or killed; got '${status}'`);
    this.done = true;
    openHandles.delete(this);
    try {
      await this.flush();
    } finally {
      await this.tracker.store.patchRun(this.id, { status, endedAt: new Date().toISOString(), summary });
    }
  }
}
