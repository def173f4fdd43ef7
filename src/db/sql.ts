// The small async SQL surface the registry's metadata store and the tracker are written against, so that each
// keeps its rules in one place (registry/sql-store.ts, track/store.ts) and a backend (sqlite.ts, postgres.ts) only
// supplies a driver. Statements use '?' placeholders; a driver rewrites them for its database.
// Also: the versioned schema-migration runner both backends share.
import { LorakitError } from '../errors.js';

/** Statements inside (or outside) a transaction. */
export interface SqlQuery {
  all<T>(sql: string, ...args: unknown[]): Promise<T[]>;
  get<T>(sql: string, ...args: unknown[]): Promise<T | undefined>;
  /** Returns the number of rows changed. */
  run(sql: string, ...args: unknown[]): Promise<number>;
  /** Several statements without parameters (schema DDL). */
  exec(sql: string): Promise<void>;
}

export interface SqlDriver extends SqlQuery {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the data lives, for messages (a file path or a URL without its password). */
  readonly location: string;
  /** One write transaction: committed when `fn` resolves, rolled back when it throws or the process dies. */
  tx<T>(fn: (q: SqlQuery) => Promise<T>): Promise<T>;
  /** Serializes writers on `key` until the transaction ends (PostgreSQL: an advisory lock; SQLite: a no-op,
   *  since BEGIN IMMEDIATE already serializes every writer). */
  lock(q: SqlQuery, key: string): Promise<void>;
  /** After rows were inserted with explicit ids: the next generated id follows the largest (no-op on SQLite). */
  followSerial(q: SqlQuery, table: string, column: string): Promise<void>;
  /** A string aggregate of `expr` joined by ',' (group_concat / string_agg). */
  listAgg(expr: string): string;
  /** One statement synchronously, where the database allows it (SQLite): for a process 'exit' handler. */
  runSync?(sql: string, ...args: unknown[]): number;
  close(): Promise<void>;
}

/** A schema step. Applied once, in order, in one transaction; recorded in lorakit_migrations under its scope. */
export interface Migration { readonly version: number; readonly name: string; readonly sql: string }
/** Whose schema: the registry and the tracker keep separate version numbers, and may share one PostgreSQL schema. */
export type MigrationScope = 'registry' | 'tracking';

/** Brings the scope's schema up to its newest migration; refuses a database written by a newer lorakit. Safe to
 *  run from several processes at once (the migration lock serializes them). Returns the versions applied now. */
export async function migrate(d: SqlDriver, scope: MigrationScope, migrations: readonly Migration[]): Promise<number[]> {
  return d.tx(async (q) => {
    await d.lock(q, 'lorakit:migrations');
    await q.exec(`CREATE TABLE IF NOT EXISTS lorakit_migrations (
      scope TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (scope, version))`);
    const rows = await q.all<{ version: number }>('SELECT version FROM lorakit_migrations WHERE scope = ?', scope);
    const done = new Set(rows.map((r) => Number(r.version)));
    const newest = Math.max(0, ...migrations.map((m) => m.version));
    const ahead = [...done].filter((v) => v > newest);
    if (ahead.length) {
      throw new LorakitError('LK_REGISTRY',
        `the ${scope} schema in ${d.location} has version ${Math.max(...ahead)}, newer than this lorakit knows (${newest})`,
        { hint: 'upgrade lorakit on this machine', details: { location: d.location, scope } });
    }
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await q.exec(m.sql);
      await q.run(
        'INSERT INTO lorakit_migrations (scope, version, name, applied_at) VALUES (?, ?, ?, ?)',
        scope,
        m.version,
        m.name,
        new Date().toISOString(),
      );
      applied.push(m.version);
    }
    return applied;
  });
}

/** A promise-chain mutex: one holder at a time within this process. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => { release = r; });
    await prev;
    try { return await fn(); } finally { release(); }
  }
}

/** `d` with every call waiting for `ready` first (the schema migration, run on `d` itself): a failed migration
 *  is then reported by each call instead of a missing table. */
export function gated(d: SqlDriver, ready: Promise<unknown>): SqlDriver {
  return {
    dialect: d.dialect, location: d.location,
    all: async <T>(sql: string, ...a: unknown[]) => { await ready; return d.all<T>(sql, ...a); },
    get: async <T>(sql: string, ...a: unknown[]) => { await ready; return d.get<T>(sql, ...a); },
    run: async (sql: string, ...a: unknown[]) => { await ready; return d.run(sql, ...a); },
    exec: async (sql: string) => { await ready; return d.exec(sql); },
    tx: async <T>(fn: (q: SqlQuery) => Promise<T>) => { await ready; return d.tx(fn); },
    lock: (q, key) => d.lock(q, key),
    followSerial: (q, table, column) => d.followSerial(q, table, column),
    listAgg: (expr) => d.listAgg(expr),
    runSync: d.runSync?.bind(d),
    close: async () => { await ready.catch(() => undefined); await d.close(); },
  };
}
