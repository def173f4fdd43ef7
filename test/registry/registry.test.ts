// Registry behaviour in one process: versions, refs, mismatched bases, aliases with history, gates,
// deletion guarded by aliases, export round trip, verify finding corruption, gc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry, SqlMetadataStore } from '../../src/registry/index.js';
import { fingerprintAdapterDir } from '../../src/models/fingerprint.js';
import { makeAdapter, makeBase, tmp } from './helpers.js';
import { openRegistry, openTracker } from '../helpers/store.js';

async function setup(): Promise<{ root: string; reg: Registry; baseA: string; baseB: string }> {
  const root = tmp();
  const reg = openRegistry(join(root, 'home'));
  const a = await reg.addBase(makeBase(join(root, 'base-a'), { seed: 1 }), { name: 'tiny-a', by: 'alice' });
  const b = await reg.addBase(makeBase(join(root, 'base-b'), { seed: 2 }), { name: 'tiny-b' });
  return { root, reg, baseA: a.fingerprint, baseB: b.fingerprint };
}

test('bases register with metadata; re-adding is idempotent; a taken name is a conflict', async () => {
  const { root, reg, baseA } = await setup();
  const b = await reg.resolveBase('tiny-a');
  assert.equal(b.fingerprint, baseA);
  assert.equal(b.architecture, 'LlamaForCausalLM');
  assert.equal(b.parameters, 384);
  assert.deepEqual(b.meta.dtypes, ['F32']);
  assert.equal(b.createdBy, 'alice');
  assert.equal((await reg.resolveBase(baseA.slice(0, 10))).name, 'tiny-a');
  assert.equal((await reg.addBase(join(root, 'base-a'), { name: 'tiny-a' })).fingerprint, baseA);
  await assert.rejects(reg.addBase(makeBase(join(root, 'base-c'), { seed: 3 }), { name: 'tiny-a' }), { code: 'LK_CONFLICT' });
  await assert.rejects(reg.resolveBase('nope'), { code: 'LK_NOT_FOUND' });
  await reg.close();
});

test('adapters get monotonic versions per name, resolvable by name, @vN and @latest', async () => {
  const { root, reg, baseA } = await setup();
  const r1 = await reg.addAdapter(makeAdapter(join(root, 'ad1'), { seed: 1, baseFingerprint: baseA, runId: 'run-1' }), { name: 'support' });
  const r2 = await reg.addAdapter(makeAdapter(join(root, 'ad2'), { seed: 2 }), { name: 'support', base: 'tiny-a', metrics: { accuracy: 0.9 } });
  assert.deepEqual([r1.version.version, r2.version.version], [1, 2]);
  assert.equal(r1.version.runId, 'run-1');
  assert.equal(r1.version.datasetFingerprint, 'd'.repeat(64));
  assert.equal(r1.version.metrics.eval_loss, 1.5);
  assert.equal(r2.version.metrics.accuracy, 0.9);
  assert.equal(r2.version.loraConfig.r, 2);
  // the same content again is the same version (a retried registration does not duplicate)
  const again = await reg.addAdapter(join(root, 'ad1'), { name: 'support' });
  assert.equal(again.created, false);
  assert.equal(again.version.ref, 'support@v1');
  assert.equal((await reg.resolve('support')).version, 2);
  assert.equal((await reg.resolve('support@latest')).version, 2);
  assert.equal((await reg.resolve('support@v1')).fingerprint, r1.version.fingerprint);
  await assert.rejects(reg.resolve('support@v9'), { code: 'LK_NOT_FOUND' });
  await assert.rejects(reg.resolve('support@prod'), { code: 'LK_NOT_FOUND' });
  await assert.rejects(reg.resolve('bad name'), { code: 'LK_ARG' });
  // deleting v2 never gives its number to the next registration
  await reg.deleteVersion('support@v2');
  const r3 = await reg.addAdapter(makeAdapter(join(root, 'ad3'), { seed: 3, baseFingerprint: baseA }), { name: 'support' });
  assert.equal(r3.version.version, 3);
  assert.deepEqual((await reg.list({ name: 'support' })).map((v) => v.version), [1, 3]);
  await reg.close();
});

test('mismatched bases are refused, naming both models', async () => {
  const { root, reg, baseA, baseB } = await setup();
  const dir = makeAdapter(join(root, 'ad'), { baseFingerprint: baseA });
  await assert.rejects(reg.addAdapter(dir, { name: 'x', base: 'tiny-b' }),
    (e: Error & { code?: string }) => e.code === 'LK_BASE_MISMATCH' && /tiny-a/.test(e.message) && /tiny-b/.test(e.message));
  assert.equal((await reg.list()).length, 0, 'nothing registered after a refusal');
  await assert.rejects(reg.addAdapter(makeAdapter(join(root, 'nobase')), { name: 'x' }), { code: 'LK_ARG' });
  await reg.addAdapter(dir, { name: 'x' });
  const ok = await reg.assertCompatible('x', 'tiny-a');
  assert.equal(ok.baseFingerprint, baseA);
  assert.equal((await reg.assertCompatible('x', join(root, 'base-a'))).baseFingerprint, baseA);
  await assert.rejects(
    reg.assertCompatible('x', baseB),
    (e: Error & { code?: string }) =>
      e.code === 'LK_BASE_MISMATCH' && /tiny-a/.test(e.message) && /tiny-b/.test(e.message),
  );
  await assert.rejects(reg.assertCompatible('x', join(root, 'base-b')), { code: 'LK_BASE_MISMATCH' });
  await reg.close();
});

test('pickle adapters are refused with a clear message', async () => {
  const { root, reg, baseA } = await setup();
  const dir = makeAdapter(join(root, 'p'), { baseFingerprint: baseA });
  rmSync(join(dir, 'adapter_model.safetensors'));
  writeFileSync(join(dir, 'adapter_model.bin'), 'not really pickle');
  await assert.rejects(reg.addAdapter(dir, { name: 'p' }), (e: Error & { code?: string }) => e.code === 'LK_ADAPTER' && /pickle/.test(e.message));
  await reg.close();
});

test('aliases move between versions with who/when/why history; deletion is refused while an alias points', async () => {
  const { root, reg, baseA } = await setup();
  for (let i = 1; i <= 3; i++) await reg.addAdapter(makeAdapter(join(root, `a${i}`), { seed: i, baseFingerprint: baseA }), { name: 'support' });
  await reg.setAlias('support@v1', 'production', { by: 'alice', reason: 'first release' });
  assert.equal((await reg.resolve('support@production')).version, 1);
  await reg.setAlias('support@v2', 'production', { by: 'bob', reason: 'better eval' });
  assert.equal((await reg.resolve('support@production')).version, 2);
  assert.deepEqual((await reg.resolve('support@v2')).aliases, ['production']);
  assert.deepEqual((await reg.resolve('support@v1')).aliases, []);
  await assert.rejects(reg.deleteVersion('support@v2'), { code: 'LK_CONFLICT' });
  await reg.removeAlias('support', 'production', { by: 'carol', reason: 'incident 42' });
  await assert.rejects(reg.resolve('support@production'), { code: 'LK_NOT_FOUND' });
  const h = await reg.history('support', 'production');
  assert.deepEqual(h.map((e) => [e.kind, e.fromVersion, e.toVersion, e.who, e.why]), [
    ['alias-set', null, 1, 'alice', 'first release'], ['alias-set', 1, 2, 'bob', 'better eval'], ['alias-rm', 2, null, 'carol', 'incident 42']]);
  assert.ok(h.every((e) => !Number.isNaN(Date.parse(e.at))));
  await reg.deleteVersion('support@v2');
  await assert.rejects(reg.setAlias('support@v1', 'v7'), { code: 'LK_ARG' });
  await assert.rejects(reg.removeAlias('support', 'production'), { code: 'LK_NOT_FOUND' });
  await reg.close();
});

test('the gate refuses an alias without a passing report unless forced, and records the force', async () => {
  const { root, reg, baseA } = await setup();
  const { version: v1 } = await reg.addAdapter(makeAdapter(join(root, 'a1'), { baseFingerprint: baseA }), { name: 'support' });
  const fps = { model: { fingerprint: baseA }, adapter: { fingerprint: v1.fingerprint } };
  await assert.rejects(reg.setAlias('support@v1', 'production', { requireSuite: 'smoke' }), { code: 'LK_GATE' });
  await reg.addEvalReport('support@v1', { suite: 'smoke', passed: false, score: 0.2, ...fps });
  await assert.rejects(reg.setAlias('support@v1', 'production', { requireSuite: 'smoke' }), { code: 'LK_GATE' });
  await reg.setAlias('support@v1', 'production', { requireSuite: 'smoke', force: true, by: 'ops', reason: 'hotfix' });
  await reg.addEvalReport('support@v1', { suite: 'smoke', passed: true, score: 0.9, ...fps });
  await reg.setAlias('support@v1', 'staging', { requireSuite: 'smoke' });
  const events = (await reg.history('support')).filter((e) => e.kind === 'alias-set');
  assert.deepEqual(events.map((e) => [e.target, e.forced]), [['production', true], ['staging', false]]);
  assert.equal((await reg.show('support@v1')).evalReports.length, 2);
  await assert.rejects(reg.addEvalReport('support@v1', { suite: '', passed: true }), { code: 'LK_ARG' });
  await reg.close();
});

test('an eval report must carry the fingerprints of the version it is attached to (issue 13)', async () => {
  const { root, reg, baseA, baseB } = await setup();
  const { version: v1 } = await reg.addAdapter(makeAdapter(join(root, 'a1'), { baseFingerprint: baseA }), { name: 'support' });
  const { version: v2 } = await reg.addAdapter(makeAdapter(join(root, 'a2'), { seed: 2, baseFingerprint: baseA }), { name: 'support' });
  type Fp = { fingerprint: string } | null;
  const report = (adapter: Fp, model: Fp) => ({ suite: 'smoke', passed: true, adapter, model });
  // Hand-written {suite, passed: true} with no fingerprints, or with only one of them: refused.
  await assert.rejects(reg.addEvalReport('support@v1', { suite: 'smoke', passed: true }), { code: 'LK_ARG' });
  await assert.rejects(reg.addEvalReport('support@v1', report({ fingerprint: v1.fingerprint }, null)), { code: 'LK_ARG' });
  await assert.rejects(reg.addEvalReport('support@v1', report({ fingerprint: 'not hex' }, { fingerprint: baseA })), { code: 'LK_ARG' });
  // A report about another adapter (v2's), or about this adapter on another base: refused.
  await assert.rejects(reg.addEvalReport('support@v1', report({ fingerprint: v2.fingerprint }, { fingerprint: baseA })), { code: 'LK_CONFLICT' });
  const otherBase = report({ fingerprint: v1.fingerprint }, { fingerprint: baseB });
  await assert.rejects(reg.addEvalReport('support@v1', otherBase), { code: 'LK_BASE_MISMATCH' });
  // `passed` must agree with the report's own gate.
  const lying = { ...report({ fingerprint: v1.fingerprint }, { fingerprint: baseA }), gate: { applied: true, passed: false } };
  await assert.rejects(reg.addEvalReport('support@v1', lying), { code: 'LK_ARG' });
  assert.equal((await reg.show('support@v1')).evalReports.length, 0);
  // Reports that predate the check (or were put in the store directly) are not trusted by alias-set --require-suite.
  const who = { who: 'old', at: new Date().toISOString(), why: null };
  await reg.meta.addEvalReport(v1.id, { suite: 'smoke', passed: true }, who);
  await assert.rejects(reg.setAlias('support@v1', 'production', { requireSuite: 'smoke' }), (e: { code: string; message: string }) =>
    e.code === 'LK_GATE' && /does not fit it \(it carries no adapter\/base fingerprints\)/.test(e.message));
  await reg.meta.addEvalReport(v1.id, report({ fingerprint: v2.fingerprint }, { fingerprint: baseA }), who);
  await assert.rejects(reg.setAlias('support@v1', 'production', { requireSuite: 'smoke' }), (e: { code: string; message: string }) =>
    e.code === 'LK_GATE' && /it scored adapter/.test(e.message));
  await reg.meta.addEvalReport(v1.id, report({ fingerprint: v1.fingerprint }, { fingerprint: baseB }), who);
  await assert.rejects(reg.setAlias('support@v1', 'production', { requireSuite: 'smoke' }), (e: { code: string; message: string }) =>
    e.code === 'LK_GATE' && /it scored base/.test(e.message));
  // Forced past a foreign report: recorded as such.
  const forced = await reg.setAlias('support@v1', 'staging', { requireSuite: 'smoke', force: true });
  assert.equal(forced.event.detail.gate, 'foreign report, forced');
  // The real thing is accepted and trusted.
  await reg.addEvalReport('support@v1', report({ fingerprint: v1.fingerprint }, { fingerprint: baseA }));
  assert.equal((await reg.setAlias('support@v1', 'production', { requireSuite: 'smoke' })).event.forced, false);
  await reg.close();
});

test('tags and stages', async () => {
  const { root, reg, baseA } = await setup();
  await reg.addAdapter(makeAdapter(join(root, 'a1'), { baseFingerprint: baseA }), { name: 'support' });
  await reg.tag('support@v1', 'reviewed');
  assert.deepEqual((await reg.list({ tag: 'reviewed' })).map((v) => v.ref), ['support@v1']);
  await reg.tag('support@v1', 'reviewed', { remove: true });
  assert.deepEqual((await reg.resolve('support')).tags, []);
  assert.equal((await reg.setStage('support', 'staging')).stage, 'staging');
  await assert.rejects(reg.setStage('support', 'live' as never), { code: 'LK_ARG' });
  await reg.close();
});

test('export writes a PEFT folder with the same fingerprint; verify finds a corrupted blob; gc removes orphans', async () => {
  const { root, reg, baseA } = await setup();
  const src = makeAdapter(join(root, 'a1'), { baseFingerprint: baseA });
  const { version } = await reg.addAdapter(src, { name: 'support' });
  const out = await reg.export('support@v1', join(root, 'out'));
  assert.deepEqual(readdirSync(out.dir).filter((f) => !f.startsWith('.')).sort(), [
    'adapter_config.json', 'adapter_model.safetensors', 'lorakit.json']);
  assert.equal((await fingerprintAdapterDir(out.dir)).fingerprint, version.fingerprint);
  // the --out rule (util/out-dir.ts): a re-export replaces its own folder; a user's folder needs overwrite; never the store
  assert.equal((await reg.export('support@v1', join(root, 'out'))).dir, out.dir);
  mkdirSync(join(root, 'mine'));
  writeFileSync(join(root, 'mine', 'notes.txt'), 'keep');
  await assert.rejects(reg.export('support@v1', join(root, 'mine')), { code: 'LK_OUT_EXISTS' });
  await assert.rejects(reg.export('support@v1', reg.home, { overwrite: true }), { code: 'LK_OUT_IS_INPUT' });
  await assert.rejects(reg.export('support@v1', join(reg.home, 'blobs'), { overwrite: true }), { code: 'LK_OUT_IS_INPUT' });
  assert.equal((await reg.verify()).bad.length, 0);
  // corrupt the adapter's weights blob
  const w = (await reg.show('support@v1')).files.find((f) => f.name === 'adapter_model.safetensors')!;
  const p = reg.blobs.locate(w.sha256);
  writeFileSync(p, 'garbage');
  await assert.rejects(reg.verify(), (e: Error & { code?: string; details?: { bad?: { sha256: string }[] } }) =>
    e.code === 'LK_CORRUPT' && e.details?.bad?.length === 1 && e.details.bad[0].sha256 === w.sha256);
  await assert.rejects(reg.export('support@v1', join(root, 'out2')), { code: 'LK_CORRUPT' });
  assert.ok(!existsSync(join(root, 'out2')));
  rmSync(p);
  assert.equal((await reg.verify({ throwOnCorrupt: false })).referencedMissing.length, 1);
  // gc: an orphan (as a killed registration leaves) is removed after the grace period only
  const orphan = await reg.blobs.putFile(join(root, 'base-a', 'config.json'));
  writeFileSync(join(root, 'o.txt'), 'orphan bytes');
  const o2 = await reg.blobs.putFile(join(root, 'o.txt'));
  assert.equal((await reg.gc()).removed.length, 0, 'fresh orphans are kept (a registration may be in flight)');
  const old = new Date(Date.now() - 2 * 3600_000);
  utimesSync(reg.blobs.locate(o2.sha256), old, old);
  const g = await reg.gc();
  assert.deepEqual(g.removed, [o2.sha256]);
  assert.ok(await reg.blobs.has(orphan.sha256), 'a referenced blob survives gc');
  await reg.close();
});

test('export never writes into the blob root, wherever it is (a shared mount outside the home)', async () => {
  const root = tmp();
  const reg = openRegistry(join(root, 'home'), { blobRoot: join(root, 'shared-blobs') });
  const base = await reg.addBase(makeBase(join(root, 'base')), { name: 'tiny' });
  await reg.addAdapter(makeAdapter(join(root, 'ad'), { baseFingerprint: base.fingerprint }), { name: 'support' });
  await assert.rejects(reg.export('support@v1', join(root, 'shared-blobs'), { overwrite: true }), { code: 'LK_OUT_IS_INPUT' });
  await assert.rejects(reg.export('support@v1', join(root, 'shared-blobs', 'x'), { overwrite: true }), { code: 'LK_OUT_IS_INPUT' });
  await reg.verify();
  await reg.close();
});

test('add-adapter from a tracked run links the run to the version', async () => {
  const { root, reg, baseA } = await setup();
  const tracker = await openTracker(join(root, 'home'));
  const run = await tracker.startRun({
    kind: 'train',
    config: { lr: 1e-3 },
    lineage: { baseFingerprint: baseA, datasetFingerprint: 'e'.repeat(64) },
    runDir: join(root, 'run'),
  });
  makeAdapter(join(root, 'run', 'adapter'), { seed: 9 });
  await run.finish('finished');
  const r = await reg.addAdapterFromRun(tracker, run.id, { name: 'from-run' });
  assert.equal(r.version.runId, run.id);
  assert.equal(r.version.baseFingerprint, baseA);
  assert.equal(r.version.datasetFingerprint, 'e'.repeat(64));
  assert.equal((await tracker.getRun(run.id)).lineage.adapterVersion, 'from-run@v1');
  await tracker.close();
  await reg.close();
});

test('verify reports metadata problems: file rows without a version, a version counter behind its versions', async () => {
  const { root, reg, baseA } = await setup();
  await reg.addAdapter(makeAdapter(join(root, 'ad1'), { seed: 1, baseFingerprint: baseA }), { name: 'support' });
  assert.deepEqual((await reg.verify()).problems, []);
  const sql = (reg.meta as SqlMetadataStore).driver;
  await sql.run("INSERT INTO files (owner, name, sha256, bytes) VALUES ('version:999', 'x', ?, 1)", 'a'.repeat(64));
  await sql.run('UPDATE adapter_names SET next_version = 1');
  const r = await reg.verify({ throwOnCorrupt: false });
  assert.equal(r.problems.length, 2, r.problems.join('; '));
  await assert.rejects(reg.verify(), { code: 'LK_CORRUPT' });
  await reg.close();
});
