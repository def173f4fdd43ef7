// The registry and tracking test suites again, on PostgreSQL: a throwaway server (initdb/pg_ctl on a loopback
// port), then the files below re-run with LORAKIT_TEST_PG set, so every test (and every CLI child, through
// LORAKIT_STORE) opens a fresh schema on it instead of SQLite files. Fails, never skips, when PostgreSQL is not
// installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startPostgres } from '../helpers/postgres.js';

/** The parent runner's NODE_TEST_CONTEXT would make the child refuse to run files. */
function withoutTestContext(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** Every registry and tracking test that goes through the metadata store, and the CLI verbs' store plumbing. Not
 *  here: migrate and store URLs (about both backends at once), temp-blobs (the blob store's temp files), epipe (CLI
 *  output into a closed pipe) and cli-eval (the add-eval verb; its store rule runs here in registry.test.ts), which
 *  do not depend on the database and cost CLI start-ups. */
const SUITE = [
  'registry/registry.test.ts', 'registry/precision.test.ts', 'registry/processes.test.ts', 'registry/cli.test.ts', 'track/tracker.test.ts',
];

test('the registry and tracking suites pass on PostgreSQL', { timeout: 480_000 }, async (t) => {
  const pg = await startPostgres();
  try {
    const files = SUITE.map((f) => join(import.meta.dirname, '..', f));
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...files],
      { env: { ...withoutTestContext(), LORAKIT_TEST_PG: pg.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    for (const l of out.split('\n').filter((x) => /^# (tests|pass|fail)|^not ok|^ok /.test(x.trim()))) t.diagnostic(l.trim());
    assert.equal(code, 0, `registry/tracking suite on PostgreSQL failed:\n${out.slice(-6000)}`);
    assert.match(out, /# fail 0/);
  } finally {
    pg.stop();
  }
});
