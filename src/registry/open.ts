// Which metadata store and blob root a registry uses. The store is a URL: unset or 'sqlite:PATH' for the
// embedded SQLite file (default <home>/registry.db), 'postgres://…' for a shared PostgreSQL. Taken from the
// --store flag, else $LORAKIT_STORE. Blobs live under --blob-root, else $LORAKIT_BLOB_ROOT, else <home>/blobs
// (with PostgreSQL, point every machine at one shared mount).
import { join, resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import { PgMetadataStore } from './pg-store.js';
import { SqliteMetadataStore } from './sqlite-store.js';
import type { MetadataStore } from './types.js';

export interface StoreOptions {
  /** 'sqlite:PATH' or 'postgres://user@host:port/db[?schema=NAME]' (default: $LORAKIT_STORE, else SQLite under home). */
  readonly store?: string;
  /** Blob root (default: $LORAKIT_BLOB_ROOT, else <home>/blobs). */
  readonly blobRoot?: string;
}

export type StoreUrl = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

export function parseStoreUrl(raw: string | undefined, home: string): StoreUrl {
  const s = raw?.trim() || undefined;
  if (s === undefined) return { kind: 'sqlite', path: join(home, 'registry.db') };
  if (s.startsWith('sqlite:')) {
    const p = s.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!p) throw new LorakitError('LK_ARG', "store 'sqlite:' needs a path, e.g. sqlite:/data/registry.db");
    return { kind: 'sqlite', path: resolve(p) };
  }
  if (/^postgres(ql)?:\/\//.test(s)) return { kind: 'postgres', url: s };
  throw new LorakitError('LK_ARG', `store '${s}' is not supported: expected sqlite:PATH or postgres://user@host:port/db`, { hint: 'set --store or LORAKIT_STORE' });
}

export function openMetadataStore(u: StoreUrl): MetadataStore {
  return u.kind === 'sqlite' ? new SqliteMetadataStore(u.path) : new PgMetadataStore(u.url);
}

export const blobRootFor = (home: string, explicit?: string): string => resolve(explicit ?? (process.env.LORAKIT_BLOB_ROOT || join(home, 'blobs')));
