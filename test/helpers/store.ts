// Which store the registry tests run on: SQLite under the test's home by default; with LORAKIT_TEST_PG set
// (test/registry/postgres.test.ts does that), a fresh PostgreSQL schema per home. Same home, same schema, so a
// reopened registry sees its earlier rows on both backends.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { Registry } from '../../src/registry/index.js';

export const testBackend = (): 'sqlite' | 'postgres' => (process.env.LORAKIT_TEST_PG ? 'postgres' : 'sqlite');

export function openRegistry(home: string): Registry {
  const pg = process.env.LORAKIT_TEST_PG;
  if (!pg) return Registry.open(home, { store: `sqlite:${resolve(home, 'registry.db')}` });
  const schema = `t_${createHash('sha256').update(resolve(home)).digest('hex').slice(0, 16)}`;
  return Registry.open(home, { store: `${pg}?schema=${schema}` });
}
