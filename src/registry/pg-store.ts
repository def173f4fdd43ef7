// The shared MetadataStore: PostgreSQL (driver in db/postgres.ts). This file holds only the schema; the rules are
// in sql-store.ts. Several machines can write at once: each change locks its adapter name with
// pg_advisory_xact_lock, so version numbers stay distinct and gap-free and alias history stays complete. A writer
// that dies mid-transaction loses its connection and PostgreSQL rolls the transaction back: nothing half-visible.
import { openPostgres, type PgLocation } from '../db/postgres.js';
import type { Migration } from '../db/sql.js';
import { BASE_QUANTIZATION_MIGRATION } from './precision.js';
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
` }, BASE_QUANTIZATION_MIGRATION];

export class PgMetadataStore extends SqlMetadataStore {
  readonly location: PgLocation;
  private readonly ready: Promise<unknown>;

  /** Connects lazily: the first call waits for the connection and the schema migration. */
  constructor(url: string, opts: { maxConnections?: number } = {}) {
    const { driver, ready, location } = openPostgres(url, 'registry', PG_MIGRATIONS, opts);
    super(driver);
    this.location = location;
    this.ready = ready;
  }

  /** Resolves once connected and migrated (rejects with the reason it could not). */
  async open(): Promise<this> { await this.ready; return this; }
}
