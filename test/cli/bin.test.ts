// Tests run the sources: bin/lorakit.js prefers a dist/ build when one exists, so a test that spawned it could
// pass or fail on stale code. Every test spawns the CLI through CLI in test/helpers/cli.ts (tsx on src/cli/main.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';

test('no test spawns bin/lorakit.js; the CLI helper runs src/cli/main.ts through tsx', () => {
  const files = readdirSync('test', { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.startsWith('fixtures'))
    .map((f) => join('test', f));
  const binLiteral = /['"`][^'"`\n]*bin\/lorakit\.js['"`]/;
  const offenders = files.filter((f) => binLiteral.test(readFileSync(f, 'utf8')));
  assert.deepEqual(offenders, [], 'spawn [...CLI, verb, ...] (test/helpers/cli.ts) instead of the bin');
  assert.deepEqual([...CLI], ['--import', 'tsx', 'src/cli/main.ts']);
});
