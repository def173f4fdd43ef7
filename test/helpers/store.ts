// Which database the registry and tracking tests run on: SQLite under the test's home by default; with
// LORAKIT_TEST_PG set (test/registry/postgres.test.ts does that), a fresh PostgreSQL schema per home. Same home,
// same schema, so a reopened registry or tracker (or a CLI child given storeEnv) sees the earlier rows on both.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { Registry } from '../../src/registry/index.js';
import { Tracker } from '../../src/track/index.js';
import { CLI } from './cli.js';

export const testBackend = (): 'sqlite' | 'postgres' => (process.env.LORAKIT_TEST_PG ? 'postgres' : 'sqlite');

/** The store URL of a test home (the registry in <home>/registry.db and runs beside it, or the home's PG schema). */
export function storeUrl(home: string): string {
  const pg = process.env.LORAKIT_TEST_PG;
  if (!pg) return `sqlite:${resolve(home, 'registry.db')}`;
  return `${pg}?schema=t_${createHash('sha256').update(resolve(home)).digest('hex').slice(0, 16)}`;
}

/** Environment for a CLI child working on the test home's store. */
export const storeEnv = (home: string): Record<string, string> => ({ LORAKIT_HOME: home, LORAKIT_STORE: storeUrl(home) });

export const openRegistry = (home: string, opts: { blobRoot?: string } = {}): Registry => Registry.open(home, { store: storeUrl(home), ...opts });

export const openTracker = (home: string): Promise<Tracker> => Tracker.open(home, { store: storeUrl(home) });

/** Runs `lorakit <args> --json` against the test store of `home` (as user 'tester'); `json` is {} when stdout is not JSON. */
export function storeCli(home: string, ...args: string[]): { code: number | null; json: Record<string, unknown>; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args, '--json'], {
    env: { ...process.env, ...storeEnv(home), USER: 'tester' },
    encoding: 'utf8',
  });
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(r.stdout); } catch { /* asserted by the caller */ }
  return { code: r.status, json, stderr: r.stderr };
}
