// The shared MetadataStore: PostgreSQL through node-postgres (`pg`). This file holds only the driver (a pool,
// '?' → '$n' placeholders, advisory locks) and the schema; the rules are in sql-store.ts. Several machines can
// write at once: each change locks its adapter name with pg_advisory_xact_lock, so version numbers stay
// distinct and gap-free and alias history stays complete. A writer that dies mid-transaction loses its
// connection and PostgreSQL rolls the transaction back: nothing half-visible.
//
// URL: postgres://user:pass@host:port/db[?schema=NAME] (schema: a separate registry inside one database).
import pg from 'pg';
import { LorakitError } from '../errors.js';
import { migrate, type Migration, type SqlDriver, type SqlQuery } from './sql.js';
import { SqlMetadataStore } from './sql-store.js';

export const PG_MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'registry schema', sql: `
CREATE TABLE bases (
  fingerprint TEXT PRIMARY KEY, name TEXT UNIQUE, architecture TEXT NOT NULL, parameters BIGINT NOT NULL,
  meta TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE adapter_names (name TEXT PRIMARY KEY, next_version INTEGER NOT NULL);
CREATE TABLE versions (
  id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL, fingerprint TEXT NOT NULL,
  base_fp TEXT NOT NULL, dataset_fp TEXT, run_id TEXT, lora_config TEXT NOT NULL, metrics TEXT NOT NULL,
  stage TEXT NOT NULL DEFAULT 'none', source TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
  UNIQUE (name, version));
CREATE INDEX versions_base ON versions(base_fp);
CREATE INDEX versions_fp ON versions(name, fingerprint);
CREATE TABLE files (owner TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, bytes BIGINT NOT NULL, PRIMARY KEY (owner, name));
CREATE INDEX files_sha ON files(sha256);
CREATE TABLE aliases (name TEXT NOT NULL, alias TEXT NOT NULL, version_id BIGINT NOT NULL, PRIMARY KEY (name, alias));
CREATE INDEX aliases_version ON aliases(version_id);
CREATE TABLE tags (version_id BIGINT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (version_id, tag));
CREATE TABLE history (
  id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, target TEXT, from_version INTEGER, to_version INTEGER,
  who TEXT NOT NULL, at TEXT NOT NULL, why TEXT, forced INTEGER NOT NULL DEFAULT 0, detail TEXT NOT NULL DEFAULT '{}');
CREATE INDEX history_name ON history(name, target);
CREATE TABLE eval_reports (
  id BIGSERIAL PRIMARY KEY, version_id BIGINT NOT NULL, suite TEXT NOT NULL, passed INTEGER NOT NULL, report TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX eval_version ON eval_reports(version_id, suite);
` }];

const INT8 = 20;
// BIGINT/count(*) come back as numbers (ids and sizes stay far below 2^53)
const types = { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) };
const numbered = (sql: string): string => { let i = 0; return sql.replace(/\?/g, () => `$${++i}`); };

export interface PgLocation { readonly connectionString: string; readonly schema: string | undefined; readonly display: string }

/** Splits a postgres:// URL into the connection string and the optional ?schema=, and a password-free form for messages. */
export function parsePgUrl(url: string): PgLocation {
  let u: URL;
  try { u = new URL(url); } catch { throw new LorakitError('LK_ARG', `'${url}' is not a URL; expected postgres://user@host:port/db[?schema=NAME]`); }
  const schema = u.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new LorakitError('LK_ARG', `schema '${schema}' is invalid: expected lower-case letters, digits and '_'`);
  u.searchParams.delete('schema');
  const display = new URL(u.href);
  if (display.password) display.password = '***';
  return { connectionString: u.href, schema, display: display.href + (schema ? `${display.search ? '&' : '?'}schema=${schema}` : '') };
}

class PgDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  /** `gate`: every call waits for it (the schema migration), except on the driver that runs the migration. */
  constructor(private readonly pool: pg.Pool, readonly location: string, private readonly gate?: Promise<unknown>) {}

  private async query(c: pg.Pool | pg.PoolClient, sql: string, args: unknown[]): Promise<pg.QueryResult> {
    try { return await c.query(numbered(sql), args); } catch (e) {
      throw new LorakitError('LK_REGISTRY', `registry database ${this.location}: ${(e as Error).message}`, { cause: e, details: { location: this.location } });
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
  async all<T>(sql: string, ...a: unknown[]): Promise<T[]> { await this.gate; return this.on(this.pool).all<T>(sql, ...a); }
  async get<T>(sql: string, ...a: unknown[]): Promise<T | undefined> { await this.gate; return this.on(this.pool).get<T>(sql, ...a); }
  async run(sql: string, ...a: unknown[]): Promise<number> { await this.gate; return this.on(this.pool).run(sql, ...a); }
  async exec(sql: string): Promise<void> { await this.gate; return this.on(this.pool).exec(sql); }

  async tx<T>(fn: (q: SqlQuery) => Promise<T>): Promise<T> {
    await this.gate;
    let client: pg.PoolClient;
    try { client = await this.pool.connect(); } catch (e) {
      throw new LorakitError('LK_REGISTRY', `cannot reach the registry database ${this.location}: ${(e as Error).message}`, { cause: e, hint: 'is PostgreSQL running, and is LORAKIT_STORE / --store right?', details: { location: this.location } });
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
    await q.get(`SELECT setval(pg_get_serial_sequence('${table}', '${column}'), GREATEST((SELECT max(${column}) FROM ${table}), 1), (SELECT count(*) > 0 FROM ${table}))`);
  }
  listAgg(expr: string): string { return `string_agg(${expr}, ',')`; }
  async close(): Promise<void> { await Promise.resolve(this.gate).catch(() => undefined); await this.pool.end(); }
}

export class PgMetadataStore extends SqlMetadataStore {
  readonly location: PgLocation;
  private readonly ready: Promise<unknown>;

  /** Connects lazily: the first call waits for the connection and the schema migration. */
  constructor(url: string, opts: { maxConnections?: number } = {}) {
    const loc = parsePgUrl(url);
    const pool = new pg.Pool({ connectionString: loc.connectionString, max: opts.maxConnections ?? 4, types, application_name: 'lorakit',
      ...(loc.schema ? { options: `-c search_path=${loc.schema}` } : {}) });
    pool.on('error', () => { /* an idle connection dropped (server restart): the next query reconnects */ });
    const raw = new PgDriver(pool, loc.display);
    const ready = (async () => {
      if (loc.schema) await raw.tx(async (q) => { await raw.lock(q, 'schema'); await q.exec(`CREATE SCHEMA IF NOT EXISTS ${loc.schema}`); });
      await migrate(raw, PG_MIGRATIONS);
    })();
    ready.catch(() => { /* reported by the first call that awaits it */ });
    super(new PgDriver(pool, loc.display, ready));
    this.location = loc;
    this.ready = ready;
  }

  /** Resolves once connected and migrated (rejects with the reason it could not). */
  async open(): Promise<this> { await this.ready; return this; }
}
