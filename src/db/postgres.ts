// The PostgreSQL SqlDriver through node-postgres (`pg`): a connection pool, '?' → '$n' placeholders, advisory
// transaction locks. The registry and the tracker keep their tables in one database (or one ?schema=), so several
// machines share them. A writer that dies mid-transaction loses its connection and PostgreSQL rolls the
// transaction back: nothing half-visible.
//
// URL: postgres://user:pass@host:port/db[?schema=NAME] (schema: a separate registry inside one database).
import pg from 'pg';
import { LorakitError } from '../errors.js';
import { gated, migrate, type Migration, type MigrationScope, type SqlDriver, type SqlQuery } from './sql.js';

const INT8 = 20;
// BIGINT/count(*) come back as numbers (ids and sizes stay far below 2^53)
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text'),
};
const numbered = (sql: string): string => { let i = 0; return sql.replace(/\?/g, () => `$${++i}`); };

export interface PgLocation { readonly connectionString: string; readonly schema: string | undefined; readonly display: string }

/** Splits a postgres:// URL into the connection string and the optional ?schema=, and a password-free form for messages. */
export function parsePgUrl(url: string): PgLocation {
  let u: URL;
  try { u = new URL(url); } catch { throw new LorakitError('LK_ARG', `'${url}' is not a URL; expected postgres://user@host:port/db[?schema=NAME]`); }
  const schema = u.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new LorakitError('LK_ARG', `schema '${schema}' is invalid: expected lower-case letters, digits and '_'`);
  u.searchParams.delete('schema');
  const display = new URL(u.href);
  if (display.password) display.password = '***';
  return { connectionString: u.href, schema, display: display.href + (schema ? `${display.search ? '&' : '?'}schema=${schema}` : '') };
}

class PgDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  constructor(private readonly pool: pg.Pool, readonly location: string) {}

  private async query(c: pg.Pool | pg.PoolClient, sql: string, args: unknown[]): Promise<pg.QueryResult> {
    try { return await c.query(numbered(sql), args); } catch (e) {
      const reach = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|terminat/i.test((e as Error).message);
      throw new LorakitError('LK_REGISTRY', `database ${this.location}: ${(e as Error).message}`,
        { cause: e, details: { location: this.location },
          ...(reach ? { hint: 'is PostgreSQL running, and is LORAKIT_STORE / --store right?' } : {}) });
    }
  }
  private on(c: pg.Pool | pg.PoolClient): SqlQuery {
    return {
      all: async <T>(sql: string, ...a: unknown[]) => (await this.query(c, sql, a)).rows as T[],
      get: async <T>(sql: string, ...a: unknown[]) => (await this.query(c, sql, a)).rows[0] as T | undefined,
      run: async (sql: string, ...a: unknown[]) => (await this.query(c, sql, a)).rowCount ?? 0,
      exec: async (sql: string) => { await this.query(c, sql, []); },
    };
  }
  all<T>(sql: string, ...a: unknown[]): Promise<T[]> { return this.on(this.pool).all<T>(sql, ...a); }
  get<T>(sql: string, ...a: unknown[]): Promise<T | undefined> { return this.on(this.pool).get<T>(sql, ...a); }
  run(sql: string, ...a: unknown[]): Promise<number> { return this.on(this.pool).run(sql, ...a); }
  exec(sql: string): Promise<void> { return this.on(this.pool).exec(sql); }

  async tx<T>(fn: (q: SqlQuery) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try { client = await this.pool.connect(); } catch (e) {
      throw new LorakitError('LK_REGISTRY', `cannot reach the database ${this.location}: ${(e as Error).message}`,
        { cause: e, hint: 'is PostgreSQL running, and is LORAKIT_STORE / --store right?', details: { location: this.location } });
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(this.on(client));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      try { await client.query('ROLLBACK'); } catch { broken = true; }
      throw e;
    } finally { client.release(broken); }
  }
  async lock(q: SqlQuery, key: string): Promise<void> { await q.get('SELECT pg_advisory_xact_lock(hashtext(CAST(? AS TEXT)))', `lorakit:${key}`); }
  async followSerial(q: SqlQuery, table: string, column: string): Promise<void> {
    await q.get(
      `SELECT setval(pg_get_serial_sequence('${table}', '${column}'), GREATEST((SELECT max(${column}) FROM ${table}), 1), ` +
        `(SELECT count(*) > 0 FROM ${table}))`,
    );
  }
  listAgg(expr: string): string { return `string_agg(${expr}, ',')`; }
  async close(): Promise<void> { await this.pool.end(); }
}

/** A pool on `url` (lazy: nothing connects until the first call) whose first use creates the ?schema= if needed
 *  and migrates `scope`'s tables; every call on the returned driver waits for that. */
export function openPostgres(url: string, scope: MigrationScope, migrations: readonly Migration[], opts: { maxConnections?: number } = {}): {
  driver: SqlDriver; ready: Promise<unknown>; location: PgLocation;
} {
  const loc = parsePgUrl(url);
  const pool = new pg.Pool({ connectionString: loc.connectionString, max: opts.maxConnections ?? 4, types, application_name: `lorakit-${scope}`,
    allowExitOnIdle: true, // an idle pool never keeps a finished CLI verb alive
    ...(loc.schema ? { options: `-c search_path=${loc.schema}` } : {}) });
  pool.on('error', () => { /* an idle connection dropped (server restart): the next query reconnects */ });
  const raw = new PgDriver(pool, loc.display);
  const ready = (async () => {
    if (loc.schema) await raw.tx(async (q) => { await raw.lock(q, 'schema'); await q.exec(`CREATE SCHEMA IF NOT EXISTS ${loc.schema}`); });
    await migrate(raw, scope, migrations);
  })();
  ready.catch(() => { /* reported by the first call that awaits it */ });
  return { driver: gated(raw, ready), ready, location: loc };
}
