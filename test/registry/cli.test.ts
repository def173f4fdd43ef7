// The registry/runs/ui verbs: every one has --json and --help text, and an end-to-end pass through the real
// CLI entry (child processes, LORAKIT_HOME in a temp dir) checks exit codes and JSON error codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commands } from '../../src/cli/commands/index.js';
import { helpText, parseArgs } from '../../src/cli/parse.js';
import { fingerprintModelDir } from '../../src/models/fingerprint.js';
import { makeAdapter, makeBase, tmp } from './helpers.js';
import { openRegistry, openTracker, storeCli as cli, storeEnv } from '../helpers/store.js';
import { CLI } from '../helpers/cli.js';

const MINE = Object.keys(commands).filter((k) => k.startsWith('registry ') || k.startsWith('runs ') || k === 'ui');

test('every registry/runs/ui verb loads, has --json and help text', async () => {
  assert.ok(MINE.length >= 18, `found ${MINE.join(', ')}`);
  for (const key of MINE) {
    const cmd = await commands[key].load();
    assert.equal(cmd.name, key);
    assert.ok('json' in cmd.flags, `${key} has --json`);
    assert.match(helpText(cmd), /--json/);
  }
  const alias = await commands['registry alias-set'].load();
  const p = parseArgs(alias, ['support@v3', 'production', '--require-suite', 'smoke', '--force', '--reason', 'hotfix']);
  assert.deepEqual(p.positionals, ['support@v3', 'production']);
  assert.equal(p.flags.requireSuite, 'smoke');
  assert.equal(p.flags.force, true);
});

test('CLI end to end: add-base, add-adapter, gate, alias with force, list, verify finds corruption', async () => {
  const root = tmp();
  const home = join(root, 'home');
  const base = makeBase(join(root, 'base'));
  const fp = (await fingerprintModelDir(base)).fingerprint;
  const ad = makeAdapter(join(root, 'ad'), { baseFingerprint: fp });
  assert.equal(cli(home, 'registry', 'add-base', base, '--name', 'tiny').json.fingerprint, fp);
  const added = cli(home, 'registry', 'add-adapter', ad, '--name', 'support', '--metric', 'acc=0.75');
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.json.ref, 'support@v1');
  assert.deepEqual(added.json.metrics, { eval_loss: 1.5, acc: 0.75 });
  const gated = cli(home, 'registry', 'alias-set', 'support@v1', 'production', '--require-suite', 'smoke');
  assert.equal(gated.code, 1);
  assert.equal((gated.json.error as { code: string }).code, 'LK_GATE');
  const forced = cli(home, 'registry', 'alias-set', 'support@v1', 'production', '--require-suite', 'smoke', '--force', '--reason', 'hotfix');
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(forced.json.event as { forced: boolean; who: string; why: string }, {
    ...(forced.json.event as object),
    forced: true,
    who: 'tester',
    why: 'hotfix',
  });
  const list = cli(home, 'registry', 'list');
  assert.deepEqual((list.json.versions as { ref: string; aliases: string[] }[]).map((v) => [v.ref, v.aliases]), [['support@v1', ['production']]]);
  assert.equal(cli(home, 'registry', 'verify').code, 0);
  const reg = openRegistry(home);
  const w = (await reg.show('support@v1')).files.find((f) => f.name === 'adapter_model.safetensors')!;
  writeFileSync(reg.blobs.locate(w.sha256), 'bit rot');
  await reg.close();
  const bad = cli(home, 'registry', 'verify');
  assert.equal(bad.code, 1);
  assert.equal((bad.json.error as { code: string }).code, 'LK_CORRUPT');
  assert.match(bad.stderr, new RegExp(w.sha256.slice(2)));
});

test('CLI: runs list, show and compare', async () => {
  const home = join(tmp(), 'home');
  const t = await openTracker(home);
  const ids: string[] = [];
  for (const lr of [1e-3, 2e-4]) {
    const r = await t.startRun({ kind: 'train', config: { lr, lora: { r: 8 } } });
    r.logMetrics(10, { loss: lr * 1000 });
    await r.finish('finished');
    ids.push(r.id);
  }
  await t.close();
  assert.equal((cli(home, 'runs', 'list').json.runs as unknown[]).length, 2);
  assert.equal((cli(home, 'runs', 'show', ids[0]).json.final as { loss: number }).loss, 1);
  const cmp = cli(home, 'runs', 'compare', ...ids).json as { rows: { key: string; differs: boolean }[] };
  assert.deepEqual(cmp.rows.filter((r) => r.differs).map((r) => r.key).sort(), ['loss', 'lr']);
  const plain = spawnSync(process.execPath, [...CLI, 'runs', 'compare', ...ids], { env: { ...process.env, ...storeEnv(home) }, encoding: 'utf8' });
  assert.match(plain.stdout, /^\* +lr +0\.001 +0\.0002$/m);
  assert.equal(cli(home, 'runs', 'compare', ids[0]).code, 1, 'one id is not a comparison');
});
