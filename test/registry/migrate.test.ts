// `registry migrate`: a SQLite registry (versions with a gap, aliases with history, a forced gate, tags,
// stages, eval reports, a version trained on an int4 base) copied to a throwaway PostgreSQL through the real CLI is the same registry there,
// every blob re-hashed; the next registration continues the numbering; a non-empty target is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Registry } from '../../src/registry/index.js';
import { startPostgres } from '../helpers/postgres.js';
import { makeAdapter, makeBase, tmp } from './helpers.js';
import { CLI } from '../helpers/cli.js';

const strip = (r: Registry) => async () => {
  const versions = await r.list();
  return {
    versions,
    history: await r.history('support'),
    bases: await r.listBases(),
    evals: await Promise.all(versions.map((v) => r.meta.evalReports(v.id))),
    files: await Promise.all(versions.map((v) => r.meta.files({ kind: 'version', id: v.id }))) };
};

test('registry migrate copies SQLite to PostgreSQL verbatim and verifies every blob', { timeout: 180_000 }, async () => {
  const pg = await startPostgres();
  try {
    const root = tmp();
    const home = join(root, 'home');
    const src = Registry.open(home, { store: `sqlite:${join(home, 'registry.db')}` });
    const base = await src.addBase(makeBase(join(root, 'base')), { name: 'tiny' });
    for (let i = 1; i <= 4; i++) {
      const baseQuantization = i === 3 ? 'int4-b32-sym-acc8' : undefined;
      await src.addAdapter(makeAdapter(join(root, `ad${i}`), { seed: i, baseFingerprint: base.fingerprint, baseQuantization }), {
        name: 'support',
      });
    }
    await src.deleteVersion('support@v2');
    const v3 = await src.resolve('support@v3');
    await src.addEvalReport('support@v3', {
      suite: 'smoke',
      passed: true,
      adapter: { fingerprint: v3.fingerprint },
      model: { fingerprint: base.fingerprint },
    });
    await src.setAlias('support@v3', 'production', { requireSuite: 'smoke', reason: 'first' });
    await src.setAlias('support@v4', 'production', { requireSuite: 'smoke', force: true, reason: 'hotfix' });
    await src.tag('support@v1', 'baseline');
    await src.setStage('support@v4', 'staging');
    const before = await strip(src)();
    await src.close();

    const target = `${pg.url}?schema=migrated`;
    const r = spawnSync(process.execPath, [...CLI, 'registry', 'migrate', '--from', `sqlite:${join(home, 'registry.db')}`, '--to', target,
      '--to-blobs', join(root, 'shared-blobs'), '--json'], { env: { ...process.env, LORAKIT_HOME: home }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { blobs: number; verified: number; rows: Record<string, number> };
    assert.equal(report.verified, report.blobs);
    assert.equal(report.rows.versions, 3);

    const dst = Registry.open(home, { store: target, blobRoot: join(root, 'shared-blobs') });
    assert.deepEqual(await strip(dst)(), before);
    assert.deepEqual((await dst.list()).map((v) => v.baseQuantization), ['none', 'int4-b32-sym-acc8', 'none'], 'the precision is copied');
    await dst.verify();
    const next = await dst.addAdapter(makeAdapter(join(root, 'ad5'), { seed: 5, baseFingerprint: base.fingerprint }), { name: 'support' });
    assert.equal(next.version.version, 5, 'numbering continues after the copied versions (v2 stays unused)');
    assert.equal((await dst.history('support')).at(-1)!.id > before.history.at(-1)!.id, true, 'history ids continue too');
    await dst.close();

    const again = spawnSync(process.execPath,
      [...CLI, 'registry', 'migrate', '--from', `sqlite:${join(home, 'registry.db')}`, '--to', target, '--json'],
      { env: { ...process.env, LORAKIT_HOME: home }, encoding: 'utf8' });
    assert.equal(again.status, 1);
    assert.equal(JSON.parse(again.stdout || again.stderr).error?.code ?? JSON.parse(again.stderr).code, 'LK_CONFLICT');
  } finally {
    pg.stop();
  }
});
