// Temp files left in blobs/tmp by killed registrations: `verify` reports them (with age and writer pid), and
// `gc` removes the abandoned ones (writer gone, or idle past the grace period) but never the temp file of a
// registration still in flight (live writer, recently written).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { makeBase, tmp } from './helpers.js';
import { openRegistry, storeEnv } from '../helpers/store.js';
import { CLI } from '../helpers/cli.js';

function cliJson(home: string, ...args: string[]): { code: number | null; json: Record<string, unknown>; stdout: string } {
  const env = { ...process.env, ...storeEnv(home) };
  const r = spawnSync(process.execPath, [...CLI, ...args], { env, encoding: 'utf8' });
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(r.stdout); } catch { /* human output */ }
  return { code: r.status, json, stdout: r.stdout };
}

test('verify reports temp blobs with their age; gc removes abandoned ones and keeps an in-flight one', async () => {
  const root = tmp();
  const home = join(root, 'home');
  const reg = openRegistry(home);
  await reg.addBase(makeBase(join(root, 'base')), { name: 'tiny' });
  const tmpDir = join(home, 'blobs', 'tmp');
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!; // exited and reaped: nobody has this pid now
  const now = Date.now() / 1000;
  const put = (name: string, ageS: number): string => {
    const p = join(tmpDir, name);
    writeFileSync(p, Buffer.alloc(1000, 1));
    utimesSync(p, now - ageS, now - ageS);
    return p;
  };
  const killed = put(`${deadPid}-aaaaaaaaaaaa`, 120); // a registration SIGKILLed two minutes ago
  const inFlight = put(`${process.pid}-bbbbbbbbbbbb@${hostname()}`, 0); // this process is "copying" it right now (the name putFile gives)
  const stale = put(`${process.pid}-cccccccccccc`, 7200); // a live process, but untouched for 2 h
  const justKilled = put(`${deadPid}-dddddddddddd`, 1); // writer gone a second ago: too fresh to judge
  // another machine on a shared blob mount: its pid means nothing here, so only the grace period removes it
  const otherHost = put(`${deadPid}-eeeeeeeeeeee@other-machine.example`, 120);

  const v = await reg.verify();
  assert.equal(v.temp.length, 5, 'verify lists every temp file');
  const byPath = new Map(v.temp.map((t) => [t.path, t]));
  assert.equal(byPath.get(killed)?.pid, deadPid);
  assert.equal(byPath.get(killed)?.writerAlive, false);
  assert.equal(byPath.get(inFlight)?.writerAlive, true);
  assert.equal(byPath.get(otherHost)?.writerAlive, null, 'a writer on another host is unknown, not dead');
  assert.equal(byPath.get(otherHost)?.pid, deadPid);
  assert.ok(byPath.get(stale)!.ageMs >= 7_000_000 && byPath.get(stale)!.ageMs < 7_300_000, `age ${byPath.get(stale)!.ageMs}`);
  assert.equal(byPath.get(killed)?.bytes, 1000);

  const dry = await reg.gc({ dryRun: true });
  assert.deepEqual(dry.tempRemoved, 2, 'dry run counts what it would remove');
  assert.equal(readdirSync(tmpDir).length, 5, 'dry run removes nothing');
  const g = await reg.gc(); // default grace: 1 h
  assert.equal(g.tempRemoved, 2);
  assert.equal(existsSync(killed), false, 'the dead writer\'s temp file is removed');
  assert.equal(existsSync(stale), false, 'a temp file idle past the grace period is removed');
  assert.equal(existsSync(inFlight), true, 'an in-flight registration keeps its temp file');
  assert.equal(existsSync(justKilled), true, 'a temp file written a second ago is kept even if its pid is gone');
  assert.equal(existsSync(otherHost), true, "another machine's temp file idle for 2 min is kept (its writer may be alive there)");
  await reg.close();

  const cli = cliJson(home, 'registry', 'verify', '--json');
  assert.equal(cli.code, 0);
  assert.equal((cli.json.temp as unknown[]).length, 3);
  assert.match(cliJson(home, 'registry', 'verify').stdout, /3 temp file/);
});
