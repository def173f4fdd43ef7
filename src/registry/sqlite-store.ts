// The embedded MetadataStore: one SQLite file (WAL, busy_timeout) under LORAKIT_HOME. This file holds only the
// SQLite driver and schema; the rules are in sql-store.ts. Writers serialize on BEGIN IMMEDIATE, so two
// processes registering under one name get distinct versions and neither is lost. better-sqlite3 is
// synchronous; an in-process mutex keeps one async transaction on the connection at a time.
import Database from 'better-sqlite3';
import { resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import { migrate, Mutex, type Migration, type SqlDriver, type SqlQuery } from './sql.js';
import { SqlMetadataStore } from './sql-store.js';

export const SQLITE_MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'registry schema', sql: `
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
` }];

// One mutex per database file in this process: two stores on one file must not interleave their async
// transactions (the second BEGIN IMMEDIATE would block the event loop that the first needs to finish).
const mutexes = new Map<string, Mutex>();

class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly mutex: Mutex;
  private readonly q: SqlQuery;

  constructor(readonly db: Database.Database, readonly location: string) {
    const key = resolve(location);
    this.mutex = mutexes.get(key) ?? new Mutex();
    mutexes.set(key, this.mutex);
    const args = (a: unknown[]): unknown[] => a.map((x) => (typeof x === 'boolean' ? (x ? 1 : 0) : x));
    this.q = {
      all: async <T>(sql: string, ...a: unknown[]) => db.prepare(sql).all(...args(a)) as T[],
      get: async <T>(sql: string, ...a: unknown[]) => {
        const st = db.prepare(sql);
        return (st.reader ? st.get(...args(a)) : (st.run(...args(a)), undefined)) as T | undefined;
      },
      run: async (sql: string, ...a: unknown[]) => db.prepare(sql).run(...args(a)).changes,
      exec: async (sql: string) => { db.exec(sql); },
    };
  }

  // reads queue behind the open transaction (and the schema migration), so they never see uncommitted rows
  private read<T>(fn: () => Promise<T>): Promise<T> { return this.mutex.run(fn); }
  all<T>(sql: string, ...a: unknown[]): Promise<T[]> { return this.read(() => this.q.all<T>(sql, ...a)); }
  get<T>(sql: string, ...a: unknown[]): Promise<T | undefined> { return this.read(() => this.q.get<T>(sql, ...a)); }
  run(sql: string, ...a: unknown[]): Promise<number> { return this.tx((q) => q.run(sql, ...a)); }
  exec(sql: string): Promise<void> { return this.tx((q) => q.exec(sql)); }

  tx<T>(fn: (q: SqlQuery) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(this.q);
        this.db.exec('COMMIT');
        return out;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }
  async lock(): Promise<void> { /* BEGIN IMMEDIATE holds the database's one write lock already */ }
  async followSerial(): Promise<void> { /* AUTOINCREMENT already follows explicit ids */ }
  listAgg(expr: string): string { return `group_concat(${expr}, ',')`; }
  async close(): Promise<void> { await this.mutex.run(async () => { this.db.close(); }); }
}

export class SqliteMetadataStore extends SqlMetadataStore {
  readonly path: string;
  private readonly ready: Promise<unknown>;

  constructor(path: string) {
    let db: Database.Database;
    try {
      db = new Database(path);
      db.pragma('busy_timeout = 15000'); // first, so the pragmas below wait for other writers too
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL'); // WAL + NORMAL: a committed row survives a process kill
    } catch (e) {
      throw new LorakitError('LK_REGISTRY', `cannot open the registry database '${path}': ${(e as Error).message}`, { cause: e, details: { file: path } });
    }
    super(new SqliteDriver(db, path));
    this.path = path;
    // queued first on the driver's mutex, so every later call sees the migrated schema
    this.ready = migrate(this.driver, SQLITE_MIGRATIONS);
    this.ready.catch(() => { /* reported by the first call that awaits it */ });
  }

  /** Resolves once the schema is migrated (rejects with the migration's error). */
  async open(): Promise<this> { await this.ready; return this; }
}
