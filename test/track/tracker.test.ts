// The tracker: runs with config, environment and lineage; batched metrics; artifacts; JSONL import;
// comparison; and crash detection with a real process killed by SIGKILL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Tracker, compareRuns, formatCompare, flatten, processStartTime } from '../../src/track/index.js';
import { tmp } from '../registry/helpers.js';

test('a run records config, environment, lineage, metrics, params, artifacts and status', () => {
  const root = tmp();
  const t = Tracker.open(join(root, 'home'));
  const run = t.startRun({
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
  assert.equal(t.getRun(run.id).status, 'running');
  run.finish('finished', { best_eval_loss: 0.5 });
  const r = t.getRun(run.id.slice(0, 20));
  assert.equal(r.status, 'finished');
  assert.deepEqual(r.config, { lr: 1e-3, lora: { r: 8 } });
  assert.equal(r.params.seed, 7);
  assert.equal(r.env.node, process.version);
  assert.ok(r.env.cores >= 1 && r.env.lorakit !== 'unknown');
  assert.equal(r.pid, process.pid);
  assert.deepEqual(r.lineage, { baseFingerprint: 'b'.repeat(64), datasetFingerprint: 'd'.repeat(64) });
  assert.equal(r.summary.best_eval_loss, 0.5);
  assert.ok(r.endedAt);
  const m = t.metrics(run.id);
  assert.equal(m.loss.length, 2000);
  assert.equal(m.loss[1].value, 1.5);
  assert.deepEqual(t.finalMetrics(run.id), { loss: 3 / 2000, lr: 1e-3, eval_loss: 0.5 });
  assert.deepEqual(t.artifacts(run.id).map((a) => [a.name, a.kind, a.bytes]), [['adapter', 'adapter', 3]]);
  assert.throws(() => run.logMetrics(1, { loss: 1 }), { code: 'LK_REGISTRY' });
  assert.throws(() => t.getRun('nope'), { code: 'LK_NOT_FOUND' });
  t.close();
});

test('logMetrics is cheap: 100k calls are buffered and written in batches', () => {
  const t = Tracker.open(join(tmp(), 'home'));
  const run = t.startRun({ kind: 'train', config: {} });
  const t0 = performance.now();
  for (let s = 0; s < 100_000; s++) run.logMetrics(s, { loss: 1 });
  run.finish('finished');
  const ms = performance.now() - t0;
  assert.equal(t.metrics(run.id).loss.length, 100_000);
  assert.ok(ms < 5000, `100k logMetrics took ${ms.toFixed(0)} ms`);
  t.close();
});

test('importMetricsJsonl reads the trainer file and is idempotent; bad lines name file:line', async () => {
  const root = tmp();
  const t = Tracker.open(join(root, 'home'));
  const run = t.startRun({ kind: 'train', config: {} });
  const p = join(root, 'metrics.jsonl');
  writeFileSync(p, ['{"step":0,"loss":2,"lr":0.001,"tokens_per_s":500}', '', '{"step":10,"loss":1.5,"grad_norm":0.7,"note":"x"}'].join('\n'));
  assert.equal(await t.importMetricsJsonl(run.id, p), 5);
  await t.importMetricsJsonl(run.id, p);
  assert.deepEqual(t.metrics(run.id).loss, [{ step: 0, value: 2 }, { step: 10, value: 1.5 }]);
  writeFileSync(p, '{"step":0,"loss":1}\n{"loss":2}\n');
  await assert.rejects(
    t.importMetricsJsonl(run.id, p),
    (e: Error & { code?: string }) => e.code === 'LK_IO' && e.message.includes('metrics.jsonl:2'),
  );
  t.close();
});

test('a run whose process was SIGKILLed is marked killed on the next open', async () => {
  const home = join(tmp(), 'home');
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'child-run.ts'), home], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const id = await new Promise<string>((resolve) => child.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim())));
  const alive = Tracker.open(home);
  assert.equal(alive.getRun(id).status, 'running', 'a live process keeps its run running');
  assert.deepEqual(alive.recovered, []);
  alive.close();
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited; // reaped: kill(pid, 0) now fails
  const t = Tracker.open(home);
  assert.deepEqual(t.recovered, [id]);
  const r = t.getRun(id);
  assert.equal(r.status, 'killed');
  assert.equal(r.summary.crashed, true);
  assert.equal(t.metrics(id).loss.length, 5, 'metrics flushed before the crash survive');
  t.close();
});

test('a reused pid (alive, but started later than the run) still counts as crashed', (t) => {
  if (processStartTime(1) === undefined) { t.skip('no /proc on this platform'); return; }
  const home = join(tmp(), 'home');
  const tr = Tracker.open(home);
  const run = tr.startRun({ kind: 'eval', config: {} });
  tr.close();
  // pretend the run belonged to pid 1 (alive) but to an earlier process that held that pid
  const db = new Database(join(home, 'tracking.db'));
  db.prepare("UPDATE runs SET pid = 1, proc_start = '-1' WHERE id = ?").run(run.id);
  db.close();
  const again = Tracker.open(home);
  assert.deepEqual(again.recovered, [run.id]);
  assert.equal(again.getRun(run.id).status, 'killed');
  again.close();
});

test('compare marks differing rows', () => {
  const t = Tracker.open(join(tmp(), 'home'));
  const a = t.startRun({ kind: 'train', config: { lr: 1e-3, lora: { r: 8, alpha: 16 } } });
  const b = t.startRun({ kind: 'train', config: { lr: 2e-4, lora: { r: 8, alpha: 16 } } });
  a.logMetrics(10, { loss: 1.25 }); a.finish('finished');
  b.logMetrics(10, { loss: 1.5 }); b.finish('failed');
  const runs = [t.getRun(a.id), t.getRun(b.id)];
  const table = compareRuns(runs, runs.map((r) => t.finalMetrics(r.id)));
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
  t.close();
});
