// The embedded MetadataStore: one SQLite file (WAL, busy_timeout) under LORAKIT_HOME (driver in db/sqlite.ts).
// This file holds only the schema; the rules are in sql-store.ts. Writers serialize on BEGIN IMMEDIATE, so two
// processes registering under one name get distinct versions and neither is lost.
import { openSqlite } from '../db/sqlite.js';
import type { Migration } from '../db/sql.js';
import { BASE_QUANTIZATION_MIGRATION } from './precision.js';
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
  id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, suite TEXT NOT NULL, passed INTEGER NOT NULL, ` +
  `report TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS eval_version ON eval_reports(version_id, suite);
` }, BASE_QUANTIZATION_MIGRATION];

export class SqliteMetadataStore extends SqlMetadataStore {
  readonly path: string;
  private readonly ready: Promise<unknown>;
  get file(): string { return this.path; }

  constructor(path: string) {
    const { driver, ready } = openSqlite(path, 'registry', SQLITE_MIGRATIONS);
    super(driver);
    this.path = path;
    this.ready = ready;
  }

  /** Resolves once the schema is migrated (rejects with the migration's error). */
  async open(): Promise<this> { await this.ready; return this; }
}
