// Tenants: an API-keys file {"keys": [{"key", "adapters": [...] | "*", "name", "admin"?}]}. A request without a
// known key is 401; a model the key may not use is 403 whether or not it exists (no probing). The base model is
// open to every key; loading/unloading adapters needs "admin": true or "adapters": "*". So does GET /metrics (it
// names every tenant's adapters), unless the request carries the separate --metrics-key of a Prometheus scraper.
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { LorakitError } from '../errors.js';

export interface Tenant {
  readonly name: string;
  readonly key: string;
  /** '*' = every adapter. */
  readonly adapters: readonly string[] | '*';
  readonly admin: boolean;
}

export function parseApiKeys(raw: unknown, source: string): Tenant[] {
  const bad: string[] = [];
  const keys = (raw as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) {
    throw new LorakitError('LK_ARG', `${source}: expected {"keys": [{"key": "...", "adapters": [...] | "*", "name": "..."}]}`);
  }
  const out: Tenant[] = [];
  keys.forEach((k: Record<string, unknown>, i) => {
    if (!k || typeof k !== 'object') { bad.push(`keys[${i}] is not an object`); return; }
    if (typeof k.key !== 'string' || k.key.length < 8) bad.push(`keys[${i}].key must be a string of at least 8 characters`);
    const ad = k.adapters;
    if (!(ad === '*' || (Array.isArray(ad) && ad.every((a) => typeof a === 'string'))))
      bad.push(`keys[${i}].adapters must be "*" or a list of adapter names`);
    if (k.name !== undefined && typeof k.name !== 'string') bad.push(`keys[${i}].name must be a string`);
    if (k.admin !== undefined && typeof k.admin !== 'boolean') bad.push(`keys[${i}].admin must be true or false`);
    out.push({
      key: String(k.key),
      adapters: ad === '*' ? '*' : ((ad as string[]) ?? []),
      name: typeof k.name === 'string' ? k.name : `key-${i}`,
      admin: k.admin === true || ad === '*',
    });
  });
  if (new Set(out.map((t) => t.key)).size !== out.length) bad.push('two entries have the same key');
  if (bad.length) throw new LorakitError('LK_ARG', `${source}: invalid API keys file:\n  - ${bad.join('\n  - ')}`, { details: { problems: bad } });
  return out;
}

export function loadApiKeys(file: string): Tenant[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LorakitError('LK_IO', `cannot read API keys file '${file}': ${(e as Error).message}`, { cause: e });
  }
  return parseApiKeys(raw, file);
}

export class Auth {
  constructor(private readonly tenants: readonly Tenant[] | null) {}
  get enabled(): boolean { return this.tenants !== null; }

  /** The tenant of an Authorization header ('Bearer KEY'); null = no/unknown key. With auth off: an open tenant. */
  tenant(header: string | undefined): Tenant | null {
    if (!this.tenants) return { name: 'anonymous', key: '', adapters: '*', admin: true };
    const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
    if (!m) return null;
    const given = Buffer.from(m[1].trim());
    return this.tenants.find((t) => { const k = Buffer.from(t.key); return k.length === given.length && timingSafeEqual(k, given); }) ?? null;
  }

  /** Whether the Authorization header ('Bearer KEY') carries exactly `key` (constant-time compare). */
  static bearerIs(header: string | undefined, key: string): boolean {
    const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
    if (!m) return false;
    const given = Buffer.from(m[1].trim()), want = Buffer.from(key);
    return given.length === want.length && timingSafeEqual(given, want);
  }

  static mayUse(t: Tenant, adapter: string): boolean {
    return t.adapters === '*' || t.adapters.includes(adapter);
  }
}
