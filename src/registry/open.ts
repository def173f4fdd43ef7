// Which metadata store and blob root a registry uses. The store is a URL (db/url.ts): unset or 'sqlite:PATH' for
// the embedded SQLite file (default <home>/registry.db), 'postgres://…' for a shared PostgreSQL. Taken from the
// --store flag, else $LORAKIT_STORE. Blobs live under --blob-root, else $LORAKIT_BLOB_ROOT, else <home>/blobs
// (with PostgreSQL, point every machine at one shared mount).
import { join, resolve } from 'node:path';
import type { StoreUrl } from '../db/url.js';
import { PgMetadataStore } from './pg-store.js';
import { SqliteMetadataStore } from './sqlite-store.js';
import type { MetadataStore } from './types.js';

export { parseStoreUrl, type StoreUrl } from '../db/url.js';

export interface StoreOptions {
  /** 'sqlite:PATH' or 'postgres://user@host:port/db[?schema=NAME]' (default: $LORAKIT_STORE, else SQLite under home). */
  readonly store?: string;
  /** Blob root (default: $LORAKIT_BLOB_ROOT, else <home>/blobs). */
  readonly blobRoot?: string;
}

export function openMetadataStore(u: StoreUrl): MetadataStore {
  return u.kind === 'sqlite' ? new SqliteMetadataStore(u.path) : new PgMetadataStore(u.url);
}

export const blobRootFor = (home: string, explicit?: string): string => resolve(explicit ?? (process.env.LORAKIT_BLOB_ROOT || join(home, 'blobs')));
