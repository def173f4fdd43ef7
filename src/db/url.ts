// Which database the registry and the tracker use, as a URL: unset (or 'sqlite:PATH') for the embedded SQLite
// files, 'postgres://…' for a shared PostgreSQL. From a --store flag, else $LORAKIT_STORE. With SQLite, PATH is
// the registry's file (default <home>/registry.db) and tracked runs go to tracking.db beside it; with
// PostgreSQL both keep their tables in the one database (or ?schema=).
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { LorakitError } from '../errors.js';

export type StoreUrl = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

/** `raw` (a flag's value), else $LORAKIT_STORE; '' counts as unset. */
export const storeSetting = (raw?: string): string | undefined => (raw ?? process.env.LORAKIT_STORE)?.trim() || undefined;

export function parseStoreUrl(raw: string | undefined, home: string): StoreUrl {
  const s = raw?.trim() || undefined;
  if (s === undefined) return { kind: 'sqlite', path: join(home, 'registry.db') };
  if (s.startsWith('sqlite:')) {
    // 'sqlite:~/x.db' is not expanded by the shell (the ~ is not at the start of the word)
    const p = s.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '').replace(/^~(?=$|\/)/, homedir());
    if (!p) throw new LorakitError('LK_ARG', "store 'sqlite:' needs a path, e.g. sqlite:/data/registry.db");
    return { kind: 'sqlite', path: resolve(p) };
  }
  if (/^postgres(ql)?:\/\//.test(s)) return { kind: 'postgres', url: s };
  throw new LorakitError('LK_ARG', `store '${s}' is not supported: expected sqlite:PATH or postgres://user@host:port/db`, {
    hint: 'set --store or LORAKIT_STORE',
  });
}

/** The tracker's SQLite file for a store URL: tracking.db beside the registry's file. */
export const trackingDbPath = (u: { readonly path: string }): string => join(dirname(u.path), 'tracking.db');
