// The base precision an adapter version was trained at (issue 12): read from lorakit.json's base_quantization at
// registration, stored in versions.base_quantization, shown by `registry show` / `list`, written back on export,
// compared (as a warning) by assertCompatible and `registry check --quantize`; identical files claiming another
// precision are refused; a store made before the column existed upgrades in place and reads 'none'. Runs on SQLite
// and, through postgres.test.ts, on PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from '../../src/registry/index.js';
import { openSqlite } from '../../src/db/sqlite.js';
import { openPostgres } from '../../src/db/postgres.js';
import { SQLITE_MIGRATIONS } from '../../src/registry/sqlite-store.js';
import { PG_MIGRATIONS } from '../../src/registry/pg-store.js';
import { fingerprintAdapterDir } from '../../src/models/fingerprint.js';
import { precisionMismatch } from '../../src/models/quant/scheme.js';
import { makeAdapter, makeBase, tmp } from './helpers.js';
import { openRegistry, storeCli, storeEnv, storeUrl, testBackend } from '../helpers/store.js';
import { CLI } from '../helpers/cli.js';

const INT4 = 'int4-b32-sym-acc8';

async function setup(): Promise<{ root: string; home: string; reg: Registry; base: string; baseDir: string }> {
  const root = tmp();
  const home = join(root, 'home');
  const reg = openRegistry(home);
  const baseDir = makeBase(join(root, 'base'));
  const base = (await reg.addBase(baseDir, { name: 'tiny' })).fingerprint;
  return { root, home, reg, base, baseDir };
}

const exported = (dir: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, 'lorakit.json'), 'utf8')) as Record<string, unknown>;

test('base_quantization round-trips: lorakit.json -> the version -> a reopened store -> export', async () => {
  const { root, home, reg, base } = await setup();
  const q = await reg.addAdapter(makeAdapter(join(root, 'q'), { seed: 1, baseFingerprint: base, baseQuantization: INT4 }), { name: 'qa' });
  const f = await reg.addAdapter(makeAdapter(join(root, 'f'), { seed: 2, baseFingerprint: base }), { name: 'fa' });
  assert.equal(q.version.baseQuantization, INT4);
  assert.equal(f.version.baseQuantization, 'none', 'no base_quantization in lorakit.json: a float base');
  await reg.close();

  const again = openRegistry(home);
  assert.equal((await again.resolve('qa@v1')).baseQuantization, INT4);
  assert.deepEqual((await again.list()).map((v) => [v.ref, v.baseQuantization]), [['fa@v1', 'none'], ['qa@v1', INT4]]);
  // export writes the version's precision, also where the stored lorakit.json had none
  assert.equal(exported((await again.export('qa@v1', join(root, 'out-q'))).dir).base_quantization, INT4);
  assert.equal(exported((await again.export('fa@v1', join(root, 'out-f'))).dir).base_quantization, 'none');
  await again.close();
});

test('a base_quantization this lorakit cannot read is refused, naming lorakit.json and the field', async () => {
  const { root, reg, base } = await setup();
  for (const [i, bad] of ['int3-b32-sym-acc8', 'int4-b7-sym-acc8', 'int4-b032-sym-acc8', 'INT4', 4, null].entries()) {
    const dir = makeAdapter(join(root, `bad${i}`), { seed: 10 + i, baseFingerprint: base, baseQuantization: bad });
    await assert.rejects(reg.addAdapter(dir, { name: 'bad' }), (e: { code: string; details: { file: string; field: string } }) => {
      assert.equal(e.code, 'LK_ADAPTER', String(bad));
      assert.equal(e.details.file, join(dir, 'lorakit.json'));
      assert.equal(e.details.field, 'base_quantization');
      return true;
    });
  }
  assert.deepEqual(await reg.list({ name: 'bad' }), [], 'nothing registered');
  await reg.close();
});

test('identical files at another precision: the same version, so the claim must agree (LK_CONFLICT)', async () => {
  const { root, reg, base } = await setup();
  const quant = makeAdapter(join(root, 'quant'), { seed: 1, baseFingerprint: base, baseQuantization: INT4 });
  const float = makeAdapter(join(root, 'float'), { seed: 1, baseFingerprint: base });
  assert.equal((await fingerprintAdapterDir(quant)).fingerprint, (await fingerprintAdapterDir(float)).fingerprint);
  const v1 = (await reg.addAdapter(quant, { name: 'support' })).version;
  assert.deepEqual(await reg.addAdapter(quant, { name: 'support' }), { version: v1, created: false }, 'same claim: same version');
  await assert.rejects(reg.addAdapter(float, { name: 'support' }), { code: 'LK_CONFLICT' });
  // the store's own check (inside the write transaction, for a registration that raced the early one)
  const fp = await fingerprintAdapterDir(float);
  const row = {
    name: 'support', fingerprint: fp.fingerprint, baseFingerprint: base, datasetFingerprint: null, runId: null, loraConfig: fp.loraConfig,
    metrics: {}, source: float, createdAt: new Date().toISOString(), createdBy: 'tester',
  };
  await assert.rejects(reg.meta.insertVersion({ ...row, baseQuantization: 'none' }, fp.files, { dedupe: true }), { code: 'LK_CONFLICT' });
  assert.equal((await reg.meta.insertVersion({ ...row, baseQuantization: INT4 }, fp.files, { dedupe: true })).created, false);
  // asked for, it is a new version with its own precision; the newest version of those files is then the one to agree with
  const v2 = await reg.addAdapter(float, { name: 'support', allowDuplicate: true });
  assert.deepEqual([v2.created, v2.version.version, v2.version.baseQuantization], [true, 2, 'none']);
  await assert.rejects(reg.addAdapter(quant, { name: 'support' }), { code: 'LK_CONFLICT' });
  assert.equal((await reg.addAdapter(float, { name: 'support' })).version.ref, 'support@v2');
  await reg.close();
});

test('assertCompatible warns (never refuses) when the caller runs at another precision', async () => {
  const { root, reg, base, baseDir } = await setup();
  await reg.addAdapter(makeAdapter(join(root, 'q'), { seed: 1, baseFingerprint: base, baseQuantization: INT4 }), { name: 'qa' });
  const r = await reg.assertCompatible('qa', baseDir, { quantization: 'none' });
  assert.equal(r.precisionMismatch, precisionMismatch(INT4, 'none'));
  assert.ok(r.precisionMismatch);
  assert.equal((await reg.assertCompatible('qa', 'tiny', { quantization: 'int8-b32-sym-acc8' })).precisionMismatch,
    precisionMismatch(INT4, 'int8-b32-sym-acc8'));
  assert.equal((await reg.assertCompatible('qa', 'tiny', { quantization: INT4 })).precisionMismatch, null);
  assert.equal((await reg.assertCompatible('qa', 'tiny')).precisionMismatch, null, 'running precision unknown: nothing to compare');
  await reg.close();
});

test('a store made before base_quantization existed upgrades in place; its versions read none', async () => {
  const root = tmp();
  const home = join(root, 'home');
  mkdirSync(home);
  // the registry schema as it was: migration 1 only, and a version row written then
  const old = testBackend() === 'postgres'
    ? openPostgres(storeUrl(home), 'registry', PG_MIGRATIONS.filter((m) => m.version === 1))
    : openSqlite(join(home, 'registry.db'), 'registry', SQLITE_MIGRATIONS.filter((m) => m.version === 1));
  await old.ready;
  await old.driver.run('INSERT INTO adapter_names (name, next_version) VALUES (?, ?)', 'old', 2);
  await old.driver.run('INSERT INTO versions (name, version, fingerprint, base_fp, lora_config, metrics, source, created_at, created_by) ' +
    'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', 'old', 1, 'a'.repeat(64), 'b'.repeat(64), '{}', '{}', '/old', '2025-01-01T00:00:00.000Z', 'old');
  await old.driver.close();

  const reg = openRegistry(home);
  assert.equal((await reg.resolve('old@v1')).baseQuantization, 'none');
  const base = (await reg.addBase(makeBase(join(root, 'base')))).fingerprint;
  const v2 = await reg.addAdapter(makeAdapter(join(root, 'q'), { seed: 1, baseFingerprint: base, baseQuantization: INT4 }), { name: 'old' });
  assert.deepEqual([v2.version.ref, (await reg.resolve('old@v2')).baseQuantization], ['old@v2', INT4]);
  await reg.close();
});

test('CLI: registry show and list print the precision (text and --json); registry check --quantize warns', async () => {
  const { root, home, reg, base } = await setup();
  await reg.addAdapter(makeAdapter(join(root, 'q'), { seed: 1, baseFingerprint: base, baseQuantization: INT4 }), { name: 'qa' });
  await reg.close();
  const show = storeCli(home, 'registry', 'show', 'qa@v1');
  assert.equal(show.code, 0, show.stderr);
  assert.equal((show.json.version as { baseQuantization: string }).baseQuantization, INT4);
  const text = (...args: string[]): string =>
    spawnSync(process.execPath, [...CLI, ...args], { env: { ...process.env, ...storeEnv(home) }, encoding: 'utf8' }).stdout;
  assert.match(text('registry', 'show', 'qa@v1'), new RegExp(`^ {2}quant: +${INT4} `, 'm'));
  assert.match(text('registry', 'list'), new RegExp(`^qa@v1 +tiny +${INT4} `, 'm'));
  const check = storeCli(home, 'registry', 'check', 'qa@v1', '--base', 'tiny', '--quantize', 'none');
  assert.equal(check.code, 0, check.stderr);
  assert.equal(check.json.precisionWarning, precisionMismatch(INT4, 'none'));
  assert.ok(check.stderr.includes(`warning: adapter qa@v1: ${precisionMismatch(INT4, 'none')}`), check.stderr);
});
