// The SQLite SqlDriver (better-sqlite3, WAL): the embedded default for the registry and the tracker, one file
// each under LORAKIT_HOME. Writers serialize on BEGIN IMMEDIATE, so several processes on one machine can write
// at once. better-sqlite3 is synchronous; an in-process mutex keeps one async transaction on a file at a time.
import Database from 'better-sqlite3';
import { resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import { gated, migrate, Mutex, type Migration, type MigrationScope, type SqlDriver, type SqlQuery } from './sql.js';

// One mutex per database file in this process: two stores on one file must not interleave their async
// transactions (the second BEGIN IMMEDIATE would block the event loop that the first needs to finish).
const mutexes = new Map<string, Mutex>();

class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly mutex: Mutex;
  private readonly q: SqlQuery;

  constructor(private readonly db: Database.Database, readonly location: string) {
    const key = resolve(location);
    this.mutex = mutexes.get(key) ?? new Mutex();
    mutexes.set(key, this.mutex);
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
  /** One statement now, outside the async queue: for a process 'exit' handler, where no promise runs any more. */
  runSync(sql: string, ...a: unknown[]): number {
    if (!this.db.open || this.db.inTransaction) return 0;
    return this.db.prepare(sql).run(...args(a)).changes;
  }
  async lock(): Promise<void> { /* BEGIN IMMEDIATE holds the database's one write lock already */ }
  async followSerial(): Promise<void> { /* AUTOINCREMENT already follows explicit ids */ }
  listAgg(expr: string): string { return `group_concat(${expr}, ',')`; }
  async close(): Promise<void> { await this.mutex.run(async () => { this.db.close(); }); }
}

const args = (a: unknown[]): unknown[] => a.map((x) => (typeof x === 'boolean' ? (x ? 1 : 0) : x));

/** Opens (creating) the database file and starts migrating `scope`'s schema; every call on the returned driver
 *  waits for the migration. */
export function openSqlite(
  path: string,
  scope: MigrationScope,
  migrations: readonly Migration[],
  busyTimeoutMs = 15_000,
): { driver: SqlDriver; ready: Promise<unknown> } {
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`); // first, so the pragmas below wait for other writers too
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // WAL + NORMAL: a committed row survives a process kill
  } catch (e) {
    throw new LorakitError('LK_REGISTRY', `cannot open the ${scope} database '${path}': ${(e as Error).message}`, {
      cause: e,
      details: { file: path },
    });
  }
  const raw = new SqliteDriver(db, path);
  const ready = migrate(raw, scope, migrations);
  ready.catch(() => { /* reported by the first call that awaits it */ });
  return { driver: gated(raw, ready), ready };
}
