// `registry add-eval` through the real CLI: a hand-written passing report and one about another adapter are
// refused, the gate stays shut; the report that fits the version is accepted and trusted (issue 13). The store
// rule itself runs on both databases in registry.test.ts; this file checks the verb (SQLite only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintModelDir } from '../../src/models/fingerprint.js';
import { makeAdapter, makeBase, tmp } from './helpers.js';
import { storeCli as cli } from '../helpers/store.js';

test('CLI: registry add-eval refuses a hand-written passing report and one about another adapter; alias-set stays gated', async () => {
  const root = tmp();
  const home = join(root, 'home');
  const base = makeBase(join(root, 'base'));
  const fp = (await fingerprintModelDir(base)).fingerprint;
  cli(home, 'registry', 'add-base', base, '--name', 'tiny');
  const add = (dir: string, seed: number) =>
    cli(home, 'registry', 'add-adapter', makeAdapter(join(root, dir), { seed, baseFingerprint: fp }), '--name', 'support');
  const v1 = add('a1', 1).json as { fingerprint: string };
  const v2 = add('a2', 2).json as { fingerprint: string };
  const file = (name: string, report: unknown): string => { writeFileSync(join(root, name), JSON.stringify(report)); return join(root, name); };
  const code = (r: { json: Record<string, unknown> }): string | undefined => (r.json.error as { code: string } | undefined)?.code;
  const hand = cli(home, 'registry', 'add-eval', 'support@v1', '--report', file('hand.json', { suite: 'smoke', passed: true }));
  assert.deepEqual([hand.code, code(hand)], [1, 'LK_ARG']);
  const foreign = file('foreign.json', { suite: 'smoke', passed: true, model: { fingerprint: fp }, adapter: { fingerprint: v2.fingerprint } });
  const other = cli(home, 'registry', 'add-eval', 'support@v1', '--report', foreign);
  assert.deepEqual([other.code, code(other)], [1, 'LK_CONFLICT']);
  const gated = cli(home, 'registry', 'alias-set', 'support@v1', 'production', '--require-suite', 'smoke');
  assert.deepEqual([gated.code, code(gated)], [1, 'LK_GATE']);
  // The same report attached to the version it describes is accepted, and then trusted.
  assert.equal(cli(home, 'registry', 'add-eval', 'support@v2', '--report', foreign).code, 0);
  assert.equal(cli(home, 'registry', 'alias-set', 'support@v2', 'production', '--require-suite', 'smoke').code, 0);
  assert.ok(v1.fingerprint !== v2.fingerprint);
});
