// Real processes against one registry: SIGKILL at random points during registration leaves a consistent
// store (verify passes, no half-written rows), and concurrent writers under one name lose no version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from '../../src/registry/index.js';
import { makeAdapter, makeBase, tmp } from './helpers.js';
import { openRegistry, testBackend } from '../helpers/store.js';

const CHILD = join(import.meta.dirname, 'child-register.ts');

function startChild(args: string[]): {
  child: ChildProcess;
  lines: string[];
  ready: Promise<void>;
  firstOk: Promise<void>;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let onReady!: () => void, onOk!: () => void;
  const ready = new Promise<void>((r) => { onReady = r; });
  const firstOk = new Promise<void>((r) => { onOk = r; });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    for (const l of d.split('\n').filter(Boolean)) { lines.push(l); if (l === 'ready') onReady(); if (l.startsWith('ok ')) onOk(); }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => { if (code) process.stderr.write(err); onReady(); onOk(); r(code); }));
  return { child, lines, ready, firstOk, exit };
}

/** Checks the store's invariants through its interface (the same on SQLite and PostgreSQL), beside verify(). */
async function assertConsistent(reg: Registry, name: string): Promise<number> {
  const versions = await reg.list({ name });
  assert.deepEqual(versions.map((v) => v.version), versions.map((_, i) => i + 1), 'versions are 1..N with no gap or duplicate');
  for (const v of versions) {
    const files = await reg.meta.files({ kind: 'version', id: v.id });
    assert.deepEqual(files.map((f) => f.name), ['adapter_config.json', 'adapter_model.safetensors', 'lorakit.json'], `files of v${v.version}`);
  }
  const regs = (await reg.history(name)).filter((h) => h.kind === 'register');
  assert.deepEqual(regs.map((h) => h.toVersion).sort((a, b) => a! - b!), versions.map((v) => v.version), 'one history row per version');
  // no file rows without their version, no version counter behind its versions, ...
  assert.deepEqual(await reg.meta.integrity(), []);
  return versions.length;
}

test('SIGKILL at random points during registration leaves the store consistent', async (t) => {
  const root = tmp();
  const home = join(root, 'home');
  const reg0 = openRegistry(home);
  const base = await reg0.addBase(makeBase(join(root, 'base')), { name: 'tiny' });
  await reg0.close();
  for (let round = 0; round < 6; round++) {
    const c = startChild([home, join(root, 'work'), 'crashy', '1000', String(round * 1000 + 1), base.fingerprint, String(64 * 1024 + round * 4096)]);
    await c.firstOk; // the child is up to speed: from here every moment is inside some registration
    await new Promise((r) => setTimeout(r, Math.random() * 120));
    c.child.kill('SIGKILL');
    await c.exit;
    const reg = openRegistry(home);
    await assertConsistent(reg, 'crashy');
    const report = await reg.verify(); // throws LK_CORRUPT if any blob is bad or a referenced blob is missing
    assert.ok(report.checked > 0);
    const referenced = await reg.meta.referencedBlobs();
    t.diagnostic(`round ${round}: ${c.lines.length - 1} registrations reported, ${(await reg.list()).length} versions, ` +
      `${(await reg.blobs.list()).filter((s) => !referenced.has(s)).length} orphan blobs, ${readdirSync(join(home,
        'blobs', 'tmp')).length} temp files (${testBackend()})`);
    await reg.close();
  }
  const reg = openRegistry(home);
  const n = (await reg.list({ name: 'crashy' })).length;
  assert.ok(n >= 6, `each round registered at least one version before its kill (got ${n} versions)`);
  // orphans from killed registrations are collectable, and gc keeps every referenced blob
  await reg.gc({ graceMs: 0 });
  await reg.verify();
  for (const v of await reg.list({ name: 'crashy' })) await reg.export(v.ref, join(root, 'export', v.ref.replace('@', '-')));
  await reg.close();
});

test('concurrent processes registering under one name get distinct versions and lose none', async () => {
  const root = tmp();
  const home = join(root, 'home');
  const reg0 = openRegistry(home);
  const base = await reg0.addBase(makeBase(join(root, 'base')), { name: 'tiny' });
  await reg0.close();
  const N = 3, PER = 8;
  const children = Array.from({ length: N }, (_, i) =>
    startChild([home, join(root, 'work'), 'shared', String(PER), String(i * 100 + 1), base.fingerprint, '4096']),
  );
  const codes = await Promise.all(children.map((c) => c.exit));
  assert.deepEqual(codes, Array(N).fill(0));
  const printed = children.flatMap((c) => c.lines.filter((l) => l.startsWith('ok ')).map((l) => l.slice(3)));
  assert.equal(new Set(printed).size, N * PER, 'each process was told a different version');
  const reg = openRegistry(home);
  assert.equal(await assertConsistent(reg, 'shared'), N * PER);
  assert.equal(new Set((await reg.list({ name: 'shared' })).map((v) => v.fingerprint)).size, N * PER, 'no registration lost');
  await reg.verify();
  await reg.close();
});

test('two processes registering identical large content at the same moment get ONE version (deduplicated in the transaction)', async () => {
  // Both children fingerprint and copy 32 MB before their insert, so both pass the early duplicate check and
  // only the check inside the write transaction can catch the second one (issue 13: two versions, one fingerprint).
  const root = tmp();
  const home = join(root, 'home');
  const reg0 = openRegistry(home);
  const base = await reg0.addBase(makeBase(join(root, 'base')), { name: 'tiny' });
  await reg0.close();
  const dir = makeAdapter(join(root, 'same'), { seed: 7, baseFingerprint: base.fingerprint, bigFloats: 8 << 20 });
  const CHILD_SAME = join(import.meta.dirname, 'child-add-same.ts');
  const kids = [0, 1].map(() => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SAME, home, dir, 'dup'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let onReady!: () => void;
    const ready = new Promise<void>((r) => { onReady = r; });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      for (const l of d.split('\n').filter(Boolean)) { lines.push(l); if (l === 'ready') onReady(); }
    });
    const exit = new Promise<number | null>((r) => child.on('exit', (c) => { onReady(); r(c); }));
    return { child, lines, ready, exit };
  });
  await Promise.all(kids.map((k) => k.ready));
  for (const k of kids) k.child.stdin!.end('go\n');
  assert.deepEqual(await Promise.all(kids.map((k) => k.exit)), [0, 0]);
  const results = kids.map((k) => JSON.parse(k.lines[k.lines.length - 1]) as { ref: string; created: boolean });
  assert.deepEqual(results.map((r) => r.ref), ['dup@v1', 'dup@v1'], 'both were told the same version');
  assert.deepEqual(results.map((r) => r.created).sort(), [false, true], 'the second one says it got the existing version');
  const reg = openRegistry(home);
  assert.equal((await reg.list({ name: 'dup' })).length, 1, 'one version for one content');
  assert.equal(await assertConsistent(reg, 'dup'), 1);
  await reg.verify();
  await reg.close();
});

test('concurrent alias moves from several connections are atomic and their history is a complete chain', async () => {
  const root = tmp();
  const home = join(root, 'home');
  const regs = [openRegistry(home), openRegistry(home), openRegistry(home)];
  const base = await regs[0].addBase(makeBase(join(root, 'base')), { name: 'tiny' });
  for (let i = 1; i <= 4; i++) {
    await regs[0].addAdapter(makeAdapter(join(root, `ad${i}`), { seed: i, baseFingerprint: base.fingerprint }), {
      name: 'hot',
    });
  }
  const MOVES = 10;
  await Promise.all(
    regs.map(async (r, k) => {
      for (let i = 0; i < MOVES; i++) await r.setAlias(`hot@v${((k + i) % 4) + 1}`, 'prod', { by: `writer-${k}` });
    }),
  );
  const events = await regs[0].history('hot', 'prod');
  assert.equal(events.length, regs.length * MOVES, 'every move has its history row');
  events.forEach((e, i) => assert.equal(e.fromVersion, i === 0 ? null : events[i - 1].toVersion, `event ${i} starts where event ${i - 1} ended`));
  assert.equal((await regs[1].resolve('hot@prod')).version, events.at(-1)!.toVersion);
  for (const r of regs) await r.close();
});
