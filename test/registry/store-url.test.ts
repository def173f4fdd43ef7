// Store URLs: unset → SQLite under the home, sqlite:PATH, postgres://… with an optional ?schema=; anything else,
// or a bad schema name, is LK_ARG. Passwords never reach messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { parsePgUrl, parseStoreUrl } from '../../src/registry/index.js';

test('store URLs pick the backend', () => {
  assert.deepEqual(parseStoreUrl(undefined, '/h'), { kind: 'sqlite', path: join('/h', 'registry.db') });
  assert.deepEqual(parseStoreUrl('  ', '/h'), { kind: 'sqlite', path: join('/h', 'registry.db') });
  assert.deepEqual(parseStoreUrl('sqlite:/data/r.db', '/h'), { kind: 'sqlite', path: '/data/r.db' });
  assert.deepEqual(parseStoreUrl('sqlite:rel/r.db', '/h'), { kind: 'sqlite', path: resolve('rel/r.db') });
  assert.deepEqual(parseStoreUrl('postgres://u@db:5432/x', '/h'), { kind: 'postgres', url: 'postgres://u@db:5432/x' });
  assert.equal(parseStoreUrl('postgresql://u@db/x', '/h').kind, 'postgres');
  for (const bad of ['mysql://x', 'sqlite:', '/just/a/path']) assert.throws(() => parseStoreUrl(bad, '/h'), { code: 'LK_ARG' }, bad);
});

test('postgres URLs: ?schema= is split off and checked; the password is hidden in the display form', () => {
  const l = parsePgUrl('postgres://me:secret@db:5432/lk?schema=team_a&sslmode=disable');
  assert.equal(l.schema, 'team_a');
  assert.equal(l.connectionString, 'postgres://me:secret@db:5432/lk?sslmode=disable');
  assert.equal(l.display.includes('secret'), false);
  assert.match(l.display, /schema=team_a/);
  assert.throws(() => parsePgUrl('postgres://db/lk?schema=Bad-Name'), { code: 'LK_ARG' });
  assert.throws(() => parsePgUrl('not a url'), { code: 'LK_ARG' });
});
