// The embedded MetadataStore: one SQLite file (WAL, busy_timeout) under LORAKIT_HOME. Writers serialize on
// BEGIN IMMEDIATE, so two processes registering under one name get distinct versions and neither is lost.
// better-sqlite3 is synchronous: each async method below runs its whole transaction in one synchronous step,
// so calls from one process cannot interleave inside a transaction.
import Database from 'better-sqlite3';
import { LorakitError } from '../errors.js';
import type {
  Actor, AdapterVersion, AliasGuard, BaseRecord, EvalReport, EvalReportRecord, FileOwner, FileRecord, HistoryEvent, HistoryKind, MetadataStore, NewVersion, Stage, VersionFilter,
} from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bases (
  fingerprint TEXT PRIMARY KEY, name TEXT UNIQUE, architecture TEXT NOT NULL, parameters INTEGER NOT NULL,
  meta TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS adapter_names (name TEXT PRIMARY KEY, next_version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, version INTEGER NOT NULL, fingerprint TEXT NOT NULL,
  base_fp TEXT NOT NULL, dataset_fp TEXT, run_id TEXT, lora_config TEXT NOT NULL, metrics TEXT NOT NULL,
  stage TEXT NOT NULL DEFAULT 'none', source TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
  UNIQUE (name, version));
CREATE INDEX IF NOT EXISTS versions_base ON versions(base_fp);
CREATE INDEX IF NOT EXISTS versions_fp ON versions(name, fingerprint);
CREATE TABLE IF NOT EXISTS files (owner TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (owner, name));
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS aliases (name TEXT NOT NULL, alias TEXT NOT NULL, version_id INTEGER NOT NULL, PRIMARY KEY (name, alias));
CREATE INDEX IF NOT EXISTS aliases_version ON aliases(version_id);
CREATE TABLE IF NOT EXISTS tags (version_id INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (version_id, tag));
CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL, target TEXT, from_version INTEGER, to_version INTEGER,
  who TEXT NOT NULL, at TEXT NOT NULL, why TEXT, forced INTEGER NOT NULL DEFAULT 0, detail TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS history_name ON history(name, target);
CREATE TABLE IF NOT EXISTS eval_reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, suite TEXT NOT NULL, passed INTEGER NOT NULL, report TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS eval_version ON eval_reports(version_id, suite);
`;

interface VersionRow {
  id: number; name: string; version: number; fingerprint: string; base_fp: string; dataset_fp: string | null; run_id: string | null;
  lora_config: string; metrics: string; stage: string; source: string; created_at: string; created_by: string; aliases: string | null; tags: string | null;
}
interface BaseRow { fingerprint: string; name: string | null; architecture: string; parameters: number; meta: string; source: string; created_at: string; created_by: string }

const VERSION_COLS = `v.*, (SELECT group_concat(alias, ',') FROM aliases a WHERE a.version_id = v.id) AS aliases,
  (SELECT group_concat(tag, ',') FROM tags t WHERE t.version_id = v.id) AS tags`;

type VersionInsert = { version: AdapterVersion; created: boolean };
const toVersion = (r: VersionRow): AdapterVersion => ({
  id: r.id, name: r.name, version: r.version, ref: `${r.name}@v${r.version}`, fingerprint: r.fingerprint, baseFingerprint: r.base_fp,
  datasetFingerprint: r.dataset_fp, runId: r.run_id, loraConfig: JSON.parse(r.lora_config), metrics: JSON.parse(r.metrics),
  stage: r.stage as Stage, source: r.source, createdAt: r.created_at, createdBy: r.created_by,
  aliases: r.aliases ? r.aliases.split(',').sort() : [], tags: r.tags ? r.tags.split(',').sort() : [],
});
const toBase = (r: BaseRow): BaseRecord => ({
  fingerprint: r.fingerprint, name: r.name, architecture: r.architecture, parameters: r.parameters, meta: JSON.parse(r.meta),
  source: r.source, createdAt: r.created_at, createdBy: r.created_by,
});
const ownerKey = (o: FileOwner): string => (o.kind === 'base' ? `base:${o.fingerprint}` : `version:${o.id}`);

interface HistoryRow { id: number; name: string; kind: string; target: string | null; from_version: number | null; to_version: number | null; who: string; at: string; why: string | null; forced: number; detail: string }
const toHistory = (r: HistoryRow): HistoryEvent => ({ id: r.id, name: r.name, kind: r.kind as HistoryKind, target: r.target, fromVersion: r.from_version, toVersion: r.to_version,
  who: r.who, at: r.at, why: r.why, forced: r.forced === 1, detail: JSON.parse(r.detail) });
interface EvalRow { id: number; version_id: number; suite: string; passed: number; report: string; created_at: string }
const toEval = (r: EvalRow): EvalReportRecord => ({ id: r.id, versionId: r.version_id, suite: r.suite, passed: r.passed === 1, report: JSON.parse(r.report), createdAt: r.created_at });

interface HistoryFields { name: string; kind: HistoryKind; target: string | null; fromVersion: number | null; toVersion: number | null; forced?: boolean; detail?: Record<string, unknown> }

export class SqliteMetadataStore implements MetadataStore {
  readonly path: string;
  private readonly db: Database.Database;

  constructor(path: string) {
    this.path = path;
    try {
      this.db = new Database(path);
      this.db.pragma('busy_timeout = 15000'); // first, so the pragmas below wait for other writers too
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL'); // WAL + NORMAL: a committed row survives a process kill
      this.tx(() => this.db.exec(SCHEMA));
    } catch (e) {
      throw new LorakitError('LK_REGISTRY', `cannot open the registry database '${path}': ${(e as Error).message}`, { cause: e, details: { file: path } });
    }
  }

  /** One immediate (write-locking) transaction, run synchronously. */
  private tx<T>(fn: () => T): T { return this.db.transaction(fn).immediate(); }

  async close(): Promise<void> { this.db.close(); }

  // ---- sync reads used inside transactions ----
  private base(fp: string): BaseRecord | undefined {
    const r = this.db.prepare('SELECT * FROM bases WHERE fingerprint = ?').get(fp) as BaseRow | undefined;
    return r && toBase(r);
  }
  private byId(id: number): AdapterVersion | undefined {
    const r = this.db.prepare(`SELECT ${VERSION_COLS} FROM versions v WHERE id = ?`).get(id) as VersionRow | undefined;
    return r && toVersion(r);
  }
  private mustById(id: number): AdapterVersion {
    const v = this.byId(id);
    if (!v) throw new LorakitError('LK_NOT_FOUND', `adapter version #${id} no longer exists (deleted meanwhile?)`);
    return v;
  }
  private reports(id: number): EvalReportRecord[] {
    return (this.db.prepare('SELECT * FROM eval_reports WHERE version_id = ? ORDER BY id').all(id) as EvalRow[]).map(toEval);
  }
  private writeHistory(h: HistoryFields, a: Actor): HistoryEvent {
    const r = this.db.prepare('INSERT INTO history (name, kind, target, from_version, to_version, who, at, why, forced, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(h.name, h.kind, h.target, h.fromVersion, h.toVersion, a.who, a.at, a.why, h.forced ? 1 : 0, JSON.stringify(h.detail ?? {}));
    return toHistory(this.db.prepare('SELECT * FROM history WHERE id = ?').get(r.lastInsertRowid) as HistoryRow);
  }
  private insertFiles(owner: string, files: readonly FileRecord[]): void {
    const ins = this.db.prepare('INSERT INTO files (owner, name, sha256, bytes) VALUES (?, ?, ?, ?)');
    for (const f of files) ins.run(owner, f.name, f.sha256, f.bytes);
  }

  // ---- bases ----
  async getBase(fp: string): Promise<BaseRecord | undefined> { return this.base(fp); }
  async findBases(q: string): Promise<BaseRecord[]> {
    const rows = this.db.prepare("SELECT * FROM bases WHERE name = ? OR fingerprint = ? OR (length(?) >= 8 AND fingerprint LIKE ? || '%') LIMIT 5")
      .all(q, q, q, q.replace(/[%_]/g, '')) as BaseRow[];
    return rows.map(toBase);
  }
  async listBases(): Promise<BaseRecord[]> { return (this.db.prepare('SELECT * FROM bases ORDER BY name, fingerprint').all() as BaseRow[]).map(toBase); }
  async insertBase(b: BaseRecord, files: readonly FileRecord[]): Promise<void> {
    this.tx(() => {
      const same = this.base(b.fingerprint);
      if (same) throw new LorakitError('LK_CONFLICT', `base ${b.fingerprint.slice(0, 12)}… is already registered${same.name ? ` as '${same.name}'` : ''}`, { details: { fingerprint: b.fingerprint } });
      const clash = b.name ? (this.db.prepare('SELECT fingerprint FROM bases WHERE name = ?').get(b.name) as { fingerprint: string } | undefined) : undefined;
      if (clash) throw new LorakitError('LK_CONFLICT', `base name '${b.name}' is taken by another model (${clash.fingerprint.slice(0, 12)}…)`, { hint: 'choose another --name' });
      this.db.prepare('INSERT INTO bases (fingerprint, name, architecture, parameters, meta, source, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(b.fingerprint, b.name, b.architecture, b.parameters, JSON.stringify(b.meta), b.source, b.createdAt, b.createdBy);
      this.insertFiles(`base:${b.fingerprint}`, files);
    });
  }

  // ---- versions ----
  async insertVersion(v: NewVersion, files: readonly FileRecord[], opts: { dedupe?: boolean } = {}): Promise<VersionInsert> {
    return this.tx(() => {
      // Under the write lock: another process may have inserted this content since the caller's early check.
      const sameSql = 'SELECT id FROM versions WHERE name = ? AND fingerprint = ? AND base_fp = ? ORDER BY version DESC LIMIT 1';
      const same = opts.dedupe ? this.db.prepare(sameSql).get(v.name, v.fingerprint, v.baseFingerprint) as { id: number } | undefined : undefined;
      if (same) return { version: this.mustById(same.id), created: false };
      const { n: version } = this.db.prepare(`INSERT INTO adapter_names (name, next_version) VALUES (?, 2)
        ON CONFLICT(name) DO UPDATE SET next_version = next_version + 1 RETURNING next_version - 1 AS n`).get(v.name) as { n: number };
      const r = this.db.prepare(`INSERT INTO versions (name, version, fingerprint, base_fp, dataset_fp, run_id, lora_config, metrics, source, created_at, created_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(v.name, version, v.fingerprint, v.baseFingerprint, v.datasetFingerprint, v.runId,
        JSON.stringify(v.loraConfig), JSON.stringify(v.metrics), v.source, v.createdAt, v.createdBy);
      this.insertFiles(`version:${r.lastInsertRowid}`, files);
      this.writeHistory({ name: v.name, kind: 'register', target: null, fromVersion: null, toVersion: version, detail: { fingerprint: v.fingerprint } }, { who: v.createdBy, at: v.createdAt, why: null });
      return { version: this.mustById(Number(r.lastInsertRowid)), created: true };
    });
  }
  async getVersion(name: string, version: number): Promise<AdapterVersion | undefined> {
    const r = this.db.prepare(`SELECT ${VERSION_COLS} FROM versions v WHERE name = ? AND version = ?`).get(name, version) as VersionRow | undefined;
    return r && toVersion(r);
  }
  async latestVersion(name: string): Promise<AdapterVersion | undefined> {
    const r = this.db.prepare(`SELECT ${VERSION_COLS} FROM versions v WHERE name = ? ORDER BY version DESC LIMIT 1`).get(name) as VersionRow | undefined;
    return r && toVersion(r);
  }
  async aliasTarget(name: string, alias: string): Promise<AdapterVersion | undefined> {
    const r = this.db.prepare(`SELECT ${VERSION_COLS} FROM versions v JOIN aliases a ON a.version_id = v.id WHERE a.name = ? AND a.alias = ?`).get(name, alias) as VersionRow | undefined;
    return r && toVersion(r);
  }
  async findVersionByFingerprint(name: string, fp: string): Promise<AdapterVersion | undefined> {
    const r = this.db.prepare(`SELECT ${VERSION_COLS} FROM versions v WHERE name = ? AND fingerprint = ? ORDER BY version DESC LIMIT 1`).get(name, fp) as VersionRow | undefined;
    return r && toVersion(r);
  }
  async listVersions(f: VersionFilter = {}): Promise<AdapterVersion[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.name) { where.push('v.name = ?'); args.push(f.name); }
    if (f.baseFingerprint) { where.push('v.base_fp = ?'); args.push(f.baseFingerprint); }
    if (f.stage) { where.push('v.stage = ?'); args.push(f.stage); }
    if (f.tag) { where.push('EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.tag = ?)'); args.push(f.tag); }
    const sql = `SELECT ${VERSION_COLS} FROM versions v ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY v.name, v.version${f.limit ? ' LIMIT ?' : ''}`;
    if (f.limit) args.push(f.limit);
    return (this.db.prepare(sql).all(...args) as VersionRow[]).map(toVersion);
  }
  async deleteVersion(id: number, a: Actor): Promise<AdapterVersion> {
    return this.tx(() => {
      const v = this.mustById(id);
      if (v.aliases.length) {
        throw new LorakitError('LK_CONFLICT', `cannot delete ${v.ref}: alias${v.aliases.length > 1 ? 'es' : ''} ${v.aliases.map((x) => `'${x}'`).join(', ')} point${v.aliases.length > 1 ? '' : 's'} at it`,
          { hint: `move or remove the alias first ('lorakit registry alias-rm ${v.name} ${v.aliases[0]}')`, details: { ref: v.ref, aliases: v.aliases } });
      }
      this.db.prepare('DELETE FROM files WHERE owner = ?').run(`version:${id}`);
      for (const sql of ['DELETE FROM tags WHERE version_id = ?', 'DELETE FROM eval_reports WHERE version_id = ?', 'DELETE FROM versions WHERE id = ?']) this.db.prepare(sql).run(id);
      this.writeHistory({ name: v.name, kind: 'delete', target: null, fromVersion: v.version, toVersion: null, detail: { fingerprint: v.fingerprint } }, a);
      return v;
    });
  }
  async setStage(id: number, stage: Stage, a: Actor): Promise<AdapterVersion> {
    return this.tx(() => {
      const v = this.mustById(id);
      this.db.prepare('UPDATE versions SET stage = ? WHERE id = ?').run(stage, id);
      this.writeHistory({ name: v.name, kind: 'stage', target: stage, fromVersion: v.version, toVersion: v.version, detail: { from: v.stage } }, a);
      return this.mustById(id);
    });
  }

  async files(owner: FileOwner): Promise<FileRecord[]> {
    return this.db.prepare('SELECT name, sha256, bytes FROM files WHERE owner = ? ORDER BY name').all(ownerKey(owner)) as FileRecord[];
  }
  async referencedBlobs(): Promise<Set<string>> {
    return new Set((this.db.prepare('SELECT DISTINCT sha256 FROM files').all() as { sha256: string }[]).map((r) => r.sha256));
  }

  // ---- aliases, tags, history, evals ----
  async moveAlias(id: number, alias: string, a: Actor, guard?: AliasGuard): Promise<HistoryEvent> {
    return this.tx(() => {
      const v = this.mustById(id);
      const verdict = guard ? guard(this.reports(id), v) : { forced: false, detail: {} };
      const prev = this.db.prepare('SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.name = ? AND a.alias = ?').get(v.name, alias) as { version: number } | undefined;
      this.db.prepare('INSERT INTO aliases (name, alias, version_id) VALUES (?, ?, ?) ON CONFLICT(name, alias) DO UPDATE SET version_id = excluded.version_id').run(v.name, alias, id);
      return this.writeHistory({ name: v.name, kind: 'alias-set', target: alias, fromVersion: prev?.version ?? null, toVersion: v.version, forced: verdict.forced, detail: verdict.detail }, a);
    });
  }
  async removeAlias(name: string, alias: string, a: Actor): Promise<HistoryEvent> {
    return this.tx(() => {
      const prev = this.db.prepare('SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.name = ? AND a.alias = ?').get(name, alias) as { version: number } | undefined;
      if (!prev) throw new LorakitError('LK_NOT_FOUND', `adapter '${name}' has no alias '${alias}'`);
      this.db.prepare('DELETE FROM aliases WHERE name = ? AND alias = ?').run(name, alias);
      return this.writeHistory({ name, kind: 'alias-rm', target: alias, fromVersion: prev.version, toVersion: null }, a);
    });
  }
  async setTag(id: number, tag: string, present: boolean, a: Actor): Promise<AdapterVersion> {
    return this.tx(() => {
      const v = this.mustById(id);
      if (present) this.db.prepare('INSERT OR IGNORE INTO tags (version_id, tag) VALUES (?, ?)').run(id, tag);
      else if (this.db.prepare('DELETE FROM tags WHERE version_id = ? AND tag = ?').run(id, tag).changes === 0) throw new LorakitError('LK_NOT_FOUND', `${v.ref} has no tag '${tag}'`);
      this.writeHistory({ name: v.name, kind: present ? 'tag' : 'untag', target: tag, fromVersion: null, toVersion: v.version }, a);
      return this.mustById(id);
    });
  }
  async history(name: string, opts: { alias?: string; limit?: number } = {}): Promise<HistoryEvent[]> {
    const rows = this.db.prepare(`SELECT * FROM history WHERE name = ? ${opts.alias ? "AND target = ? AND kind IN ('alias-set', 'alias-rm')" : ''} ORDER BY id LIMIT ?`)
      .all(...(opts.alias ? [name, opts.alias] : [name]), opts.limit ?? 10000) as HistoryRow[];
    return rows.map(toHistory);
  }
  async addEvalReport(id: number, report: EvalReport, a: Actor): Promise<EvalReportRecord> {
    return this.tx(() => {
      const v = this.mustById(id);
      const r = this.db.prepare('INSERT INTO eval_reports (version_id, suite, passed, report, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(id, report.suite, report.passed ? 1 : 0, JSON.stringify(report), a.at);
      this.writeHistory({ name: v.name, kind: 'eval', target: report.suite, fromVersion: null, toVersion: v.version, detail: { passed: report.passed } }, a);
      return toEval(this.db.prepare('SELECT * FROM eval_reports WHERE id = ?').get(r.lastInsertRowid) as EvalRow);
    });
  }
  async evalReports(id: number): Promise<EvalReportRecord[]> { return this.reports(id); }
}
