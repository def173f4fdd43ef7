// The scaled-out setup end to end: PostgreSQL as the shared registry, 3 `lorakit serve` replicas of the bundled
// base behind HAProxy with the generated adapter-affinity config.
//   1. two processes register 12 adapters each, at once, under 12 shared names: versions 1 and 2 of every name,
//      all distinct, every blob verifies;
//   2. 150 completions (some streamed, through the official openai client) over the 24 adapter versions: 0
//      failures, and each adapter is loaded on exactly one replica (read from each replica's /v1/models);
//   3. a long stream through HAProxy delivers its first token while the replica is still generating (responses
//      are not buffered);
//   4. 150 more while one replica is SIGKILLed: only requests in flight on it may fail; after the health check
//      its adapters are served by the others;
//   5. `registry verify` passes on the store afterwards.
// Fails, never skips, when PostgreSQL or HAProxy is missing (.ci/run installs both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { fingerprintModelDir } from '../../src/models/fingerprint.js';
import { Registry } from '../../src/registry/index.js';
import { clusterStatus } from '../../src/serve/cluster.js';
import { startPostgres } from '../helpers/postgres.js';
import { tmp } from '../registry/helpers.js';
import { startHaproxy, startReplica, waitReady, type Proc } from './harness.js';

const MODEL = resolve('models/brown-llama');
const NAMES = Array.from({ length: 12 }, (_, i) => `team-${i}`);

function register(args: string[]): Promise<{ code: number | null; refs: string[]; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'child-register.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  return new Promise((r) =>
    child.on('exit', (code) =>
      r({
        code,
        err,
        refs: out
          .split('\n')
          .filter((l) => l.startsWith('ok '))
          .map((l) => l.slice(3)),
      }),
    ),
  );
}

/** Adapter names each replica has loaded (from /v1/models), by replica index. */
async function loadedOn(replicas: readonly Proc[], alive: (i: number) => boolean): Promise<Map<string, number[]>> {
  const where = new Map<string, number[]>();
  for (const [i, r] of replicas.entries()) {
    if (!alive(i)) continue;
    const body = (await (await fetch(`http://127.0.0.1:${r.port}/v1/models`)).json()) as {
      data: { id: string; parent?: string | null; loaded?: boolean }[];
    };
    for (const m of body.data) if (m.parent && m.loaded) where.set(m.id, [...(where.get(m.id) ?? []), i]);
  }
  return where;
}

test('PostgreSQL registry + 3 replicas behind HAProxy: affinity, failover, consistency', { timeout: 240_000 }, async (t) => {
  const t0 = Date.now();
  const pg = await startPostgres();
  const root = tmp('lk-cluster-');
  const store = `${pg.url}?schema=cluster`;
  const blobRoot = join(root, 'shared-blobs');
  const procs: Proc[] = [];
  try {
    // 1. concurrent registrations under shared names
    const reg = Registry.open(join(root, 'admin'), { store, blobRoot });
    const base = await reg.addBase(MODEL, { name: 'brown-llama' });
    assert.equal(base.fingerprint, (await fingerprintModelDir(MODEL)).fingerprint);
    // the replicas start while the two writers register (they need no adapter to start)
    const writing = Promise.all(
      [0, 1].map((k) =>
        register([
          store,
          blobRoot,
          join(root, `writer-${k}`),
          MODEL,
          base.fingerprint,
          join(root, 'work'),
          String(1000 * (k + 1)),
          NAMES.join(','),
        ]),
      ),
    );
    for (let i = 0; i < 3; i++) {
      mkdirSync(join(root, `replica-${i}`), { recursive: true });
      procs.push(await startReplica({ model: MODEL, store, home: join(root, `replica-${i}`), blobRoot, maxLoras: 16 }));
    }
    const writers = await writing;
    for (const w of writers) assert.equal(w.code, 0, w.err);
    const refs = writers.flatMap((w) => w.refs);
    assert.equal(refs.length, 24);
    assert.equal(new Set(refs).size, 24, 'every registration got its own version');
    for (const n of NAMES) assert.deepEqual((await reg.list({ name: n })).map((v) => v.version), [1, 2], `${n}: versions 1 and 2, no gap`);
    assert.equal(new Set((await reg.list()).map((v) => v.fingerprint)).size, 24);
    await reg.verify();
    t.diagnostic(`registered 24 adapters from 2 processes in ${Date.now() - t0} ms (incl. PostgreSQL start)`);

    // 2. three replicas and HAProxy
    await Promise.all(procs.map((p) => waitReady(`http://127.0.0.1:${p.port}/ready`, 120_000, p.log)));
    // bounded load at 300%: with 3 requests in flight at most, no replica ever exceeds it, so affinity is exact
    const hx = await startHaproxy(root, procs.map((p) => p.port), { balanceFactor: 300 });
    procs.push(hx);
    await waitReady(`http://127.0.0.1:${hx.port}/ready`, 20_000, hx.log);
    await new Promise((r) => setTimeout(r, 1200)); // two health checks: every replica is up
    t.diagnostic(`replicas and HAProxy up at ${Date.now() - t0} ms`);

    const client = new OpenAI({ baseURL: `http://127.0.0.1:${hx.port}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
    const refList = [...refs].sort();
    type Outcome = { ref: string; replica: string | null; ok: boolean; error?: string; startedAt: number; endedAt: number };
    const one = async (i: number): Promise<Outcome> => {
      const ref = refList[(i * 7) % refList.length];
      const startedAt = Date.now();
      try {
        if (i % 4 === 0) {
          const { data: stream, response } = await client.completions
            .create({ model: ref, prompt: 'The jury said', max_tokens: 4, temperature: 0, stream: true })
            .withResponse();
          let text = '';
          for await (const c of stream) text += c.choices[0]?.text ?? '';
          assert.ok(text.length > 0);
          return { ref, replica: response.headers.get('x-lorakit-replica'), ok: true, startedAt, endedAt: Date.now() };
        }
        const { data, response } = await client.completions
          .create({ model: ref, prompt: 'The jury said', max_tokens: 4, temperature: 0 })
          .withResponse();
        assert.equal(data.choices[0].finish_reason === 'length' || data.choices[0].finish_reason === 'stop', true);
        return { ref, replica: response.headers.get('x-lorakit-replica'), ok: true, startedAt, endedAt: Date.now() };
      } catch (e) {
        return { ref, replica: null, ok: false, error: (e as Error).message, startedAt, endedAt: Date.now() };
      }
    };
    const runPhase = async (from: number, to: number, concurrency: number, onDone?: (n: number) => void): Promise<Outcome[]> => {
      const out: Outcome[] = [];
      let next = from;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < to) { const i = next++; out.push(await one(i)); onDone?.(out.length); }
      }));
      return out;
    };

    // phase A: 150 completions, no failure, each adapter on exactly one replica
    const a = await runPhase(0, 150, 3);
    assert.deepEqual(a.filter((o) => !o.ok).map((o) => o.error), [], 'no failures before the kill');
    const where = await loadedOn(procs.slice(0, 3), () => true);
    assert.equal(where.size, 24, 'every adapter was loaded somewhere');
    for (const [ref, on] of where) assert.equal(on.length, 1, `${ref} is loaded on exactly one replica (found on ${on.join(', ')})`);
    const servedBy = new Map<string, Set<string>>();
    for (const o of a) servedBy.set(o.ref, new Set([...(servedBy.get(o.ref) ?? []), o.replica ?? '?']));
    for (const [ref, s] of servedBy) assert.equal(s.size, 1, `${ref} always went to one replica (${[...s].join(', ')})`);
    const status = await clusterStatus(procs.slice(0, 3).map((p) => ({ host: '127.0.0.1', port: p.port })));
    assert.deepEqual(status.duplicated, [], 'cluster status: no adapter resident twice');
    assert.equal(status.adapters, 24);
    const perReplica = [0, 1, 2].map((i) => [...where.values()].filter((on) => on[0] === i).length);
    t.diagnostic(
      `phase A: 150 ok at ${Date.now() - t0} ms; adapters per replica ${perReplica.join('/')}; cluster hit rate ${status.hitRate?.toFixed(3)}`,
    );

    // streaming passes through unbuffered: the first token reaches the client while its replica still generates
    const ac = new AbortController();
    const { data: long, response: longRes } = await client.completions.create(
      { model: refList[0], prompt: 'The jury said', max_tokens: 400, temperature: 0, stream: true },
      { signal: ac.signal }).withResponse();
    const longReplica = Number(/^r(\d+)$/.exec(longRes.headers.get('x-lorakit-replica') ?? '')?.[1]) - 1;
    for await (const c of long) {
      assert.ok((c.choices[0]?.text ?? '').length >= 0);
      const ready = await (await fetch(`http://127.0.0.1:${procs[longReplica].port}/ready`)).json() as { in_flight: number };
      assert.equal(ready.in_flight, 1, 'the first SSE event arrived before the replica finished the request');
      break;
    }
    ac.abort();

    // phase B: 150 more; replica r2 (index 1) is SIGKILLed after 30 of them
    const victim = procs[1];
    let killedAt = Infinity;
    const b = await runPhase(150, 300, 3, (n) => { if (n === 30 && killedAt === Infinity) { killedAt = Date.now(); victim.child.kill('SIGKILL'); } });
    await victim.exited;
    const failed = b.filter((o) => !o.ok);
    // only requests already in flight when r2 died may fail (HAProxy retries the ones that found it dead)
    const victimRefs = [...where].filter(([, on]) => on[0] === 1).map(([ref]) => ref);
    for (const f of failed) assert.ok(f.startedAt <= killedAt, `a request started after the kill failed: ${f.ref}: ${f.error}`);
    for (const f of failed) assert.ok(victimRefs.includes(f.ref), `a request for ${f.ref}, not an adapter of the dead replica, failed: ${f.error}`);
    assert.ok(failed.length <= 3, `at most the 3 requests in flight failed, got ${failed.length}`);
    const late = b.filter((o) => o.ok && o.startedAt > killedAt + 2000);
    assert.equal(late.some((o) => o.replica === 'r2'), false, 'nothing is served by the dead replica after the health check');
    const moved = late.filter((o) => victimRefs.includes(o.ref));
    assert.ok(victimRefs.length === 0 || moved.length > 0, "the dead replica's adapters were served by the others");
    const after = await loadedOn(procs.slice(0, 3), (i) => i !== 1);
    for (const ref of new Set(moved.map((o) => o.ref))) assert.ok(after.has(ref), `${ref} now loaded on a surviving replica`);
    t.diagnostic(
      `phase B: ${b.length - failed.length}/${b.length} ok, ${failed.length} in-flight failures; ` +
        `${victimRefs.length} adapters moved; total ${Date.now() - t0} ms`,
    );

    // 5. the registry is still consistent
    const report = await reg.verify();
    assert.deepEqual(report.problems, []);
    assert.equal(report.bad.length, 0);
    await reg.close();
  } finally {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    pg.stop();
  }
});
