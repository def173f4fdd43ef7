// The tracker: runs with config, environment and lineage; batched metrics; artifacts; JSONL import;
// comparison; and crash detection with a real process killed by SIGKILL. Runs on SQLite, and on PostgreSQL
// through test/registry/postgres.test.ts (openTracker picks the store).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareRuns, formatCompare, flatten, mergePatch, processStartTime } from '../../src/track/index.js';
import { tmp } from '../registry/helpers.js';
import { openTracker, storeEnv } from '../helpers/store.js';

test('a run records config, environment, lineage, metrics, params, artifacts and status', async () => {
  const root = tmp();
  const t = await openTracker(join(root, 'home'));
  const run = await t.startRun({
    kind: 'train',
    name: 'first',
    config: { lr: 1e-3, lora: { r: 8 } },
    lineage: { baseFingerprint: 'b'.repeat(64) },
    runDir: join(root, 'run'),
  });
  for (let s = 0; s < 2000; s++) run.logMetrics(s, { loss: 3 / (s + 1), lr: 1e-3 });
  run.logMetrics(1999, { eval_loss: 0.5 });
  run.logParams({ seed: 7 });
  writeFileSync(join(root, 'a.bin'), 'abc');
  run.logArtifact('adapter', join(root, 'a.bin'), 'adapter');
  run.setLineage({ datasetFingerprint: 'd'.repeat(64) });
  await run.flush();
  assert.equal((await t.getRun(run.id)).status, 'running');
  await run.finish('finished', { best_eval_loss: 0.5 });
  const r = await t.getRun(run.id.slice(0, 20));
  assert.equal(r.status, 'finished');
  assert.deepEqual(r.config, { lr: 1e-3, lora: { r: 8 } });
  assert.equal(r.params.seed, 7);
  assert.equal(r.env.node, process.version);
  assert.ok(r.env.cores >= 1 && r.env.lorakit !== 'unknown');
  assert.equal(r.pid, process.pid);
  assert.deepEqual(r.lineage, { baseFingerprint: 'b'.repeat(64), datasetFingerprint: 'd'.repeat(64) });
  assert.equal(r.summary.best_eval_loss, 0.5);
  assert.ok(r.endedAt);
  const m = await t.metrics(run.id);
  assert.equal(m.loss.length, 2000);
  assert.equal(m.loss[1].value, 1.5);
  assert.equal(m.loss[2].value, 1, 'values keep double precision');
  assert.deepEqual(await t.finalMetrics(run.id), { loss: 3 / 2000, lr: 1e-3, eval_loss: 0.5 });
  assert.deepEqual((await t.artifacts(run.id)).map((a) => [a.name, a.kind, a.bytes]), [['adapter', 'adapter', 3]]);
  assert.throws(() => run.logMetrics(1, { loss: 1 }), { code: 'LK_REGISTRY' });
  await assert.rejects(t.getRun('nope'), { code: 'LK_NOT_FOUND' });
  await t.close();
});

test('logMetrics is cheap: 100k calls are buffered and written in batches', async () => {
  const t = await openTracker(join(tmp(), 'home'));
  const run = await t.startRun({ kind: 'train', config: {} });
  const t0 = performance.now();
  for (let s = 0; s < 100_000; s++) run.logMetrics(s, { loss: 1 });
  const logMs = performance.now() - t0;
  await run.finish('finished');
  assert.equal((await t.metrics(run.id)).loss.length, 100_000);
  assert.ok(logMs < 5000, `100k logMetrics took ${logMs.toFixed(0)} ms`);
  await t.close();
});

test('the same step logged twice keeps the last value; NaN is stored as a gap', async () => {
  const t = await openTracker(join(tmp(), 'home'));
  const run = await t.startRun({ kind: 'train', config: {} });
  run.logMetrics(3, { loss: 2 });
  run.logMetrics(3, { loss: 1.5, grad_norm: NaN });
  await run.finish('finished');
  const m = await t.metrics(run.id);
  assert.deepEqual(m.loss, [{ step: 3, value: 1.5 }]);
  assert.ok(Number.isNaN(m.grad_norm[0].value));
  await t.close();
});

test('importMetricsJsonl reads the trainer file and is idempotent; bad lines name file:line', async () => {
  const root = tmp();
  const t = await openTracker(join(root, 'home'));
  const run = await t.startRun({ kind: 'train', config: {} });
  const p = join(root, 'metrics.jsonl');
  writeFileSync(p, ['{"step":0,"loss":2,"lr":0.001,"tokens_per_s":500}', '', '{"step":10,"loss":1.5,"grad_norm":0.7,"note":"x"}'].join('\n'));
  assert.equal(await t.importMetricsJsonl(run.id, p), 5);
  await t.importMetricsJsonl(run.id, p);
  assert.deepEqual((await t.metrics(run.id)).loss, [{ step: 0, value: 2 }, { step: 10, value: 1.5 }]);
  writeFileSync(p, '{"step":0,"loss":1}\n{"loss":2}\n');
  await assert.rejects(
    t.importMetricsJsonl(run.id, p),
    (e: Error & { code?: string }) => e.code === 'LK_IO' && e.message.includes('metrics.jsonl:2'),
  );
  await t.close();
});

test('a run whose process was SIGKILLed is marked killed on the next open', async () => {
  const home = join(tmp(), 'home');
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'child-run.ts'), home],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...storeEnv(home) } });
  const id = await new Promise<string>((resolve) => child.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim())));
  const alive = await openTracker(home);
  assert.equal((await alive.getRun(id)).status, 'running', 'a live process keeps its run running');
  assert.deepEqual(alive.recovered, []);
  await alive.close();
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited; // reaped: kill(pid, 0) now fails
  const t = await openTracker(home);
  assert.deepEqual(t.recovered, [id]);
  const r = await t.getRun(id);
  assert.equal(r.status, 'killed');
  assert.equal(r.summary.crashed, true);
  assert.equal((await t.metrics(id)).loss.length, 5, 'metrics flushed before the crash survive');
  await t.close();
});

test('a reused pid (alive, but started later than the run) still counts as crashed', async (t) => {
  if (processStartTime(1) === undefined) { t.skip('no /proc on this platform'); return; }
  const home = join(tmp(), 'home');
  const tr = await openTracker(home);
  const run = await tr.startRun({ kind: 'eval', config: {} });
  // pretend the run belonged to pid 1 (alive) but to an earlier process that held that pid
  await tr.store.driver.run("UPDATE runs SET pid = 1, proc_start = '-1' WHERE id = ?", run.id);
  await tr.close();
  const again = await openTracker(home);
  assert.deepEqual(again.recovered, [run.id]);
  assert.equal((await again.getRun(run.id)).status, 'killed');
  await again.close();
});

test('compare marks differing rows', async () => {
  const t = await openTracker(join(tmp(), 'home'));
  const a = await t.startRun({ kind: 'train', config: { lr: 1e-3, lora: { r: 8, alpha: 16 } } });
  const b = await t.startRun({ kind: 'train', config: { lr: 2e-4, lora: { r: 8, alpha: 16 } } });
  a.logMetrics(10, { loss: 1.25 }); await a.finish('finished');
  b.logMetrics(10, { loss: 1.5 }); await b.finish('failed');
  const runs = [await t.getRun(a.id), await t.getRun(b.id)];
  const finals = await t.finalMetricsOf(runs.map((r) => r.id));
  const table = compareRuns(runs, runs.map((r) => finals.get(r.id)!));
  const row = (k: string) => table.rows.find((r) => r.key === k)!;
  assert.equal(row('lr').differs, true);
  assert.equal(row('lora.r').differs, false);
  assert.deepEqual(row('loss').values, ['1.25', '1.5']);
  assert.equal(row('status').differs, true);
  const plain = formatCompare(table);
  assert.match(plain, /^\* +lr +0\.001 +0\.0002$/m);
  assert.match(plain, /^ +lora\.r +8 +8$/m);
  assert.ok(formatCompare(table, { ansi: true }).includes('\u001b[1m*  lr'), 'differing rows are bold on a terminal');
  assert.deepEqual(flatten({ a: { b: { c: 1 } }, d: [1], e: {} }), { 'a.b.c': 1, d: [1], e: {} });
  await t.close();
});

test('JSON patches merge like SQLite json_patch (RFC 7396): nested objects merge, null removes', () => {
  assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { b: { c: null, x: 4 }, e: [2], f: 'y' }), {
    a: 1,
    b: { d: 3, x: 4 },
    e: [2],
    f: 'y',
  });
  assert.deepEqual(mergePatch({ a: 1 }, { a: null }), {});
  assert.deepEqual(mergePatch('scalar', { a: 1 }), { a: 1 });
});
