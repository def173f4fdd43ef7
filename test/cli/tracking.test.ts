// Every RunKind is recorded (issue 14): pretrain, eval, merge and registry export create tracked runs, as train
// does, with their config, metrics, lineage and artifacts; a verb that fails leaves a 'failed' run; --no-track
// records nothing. The verbs run in-process with LORAKIT_HOME in a temp folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { defaultLoraTargets, linearModules } from '../../src/models/modules.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { resolveSites } from '../../src/lora/targets.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { writeAdapter } from '../../src/lora/peft-io.js';
import { Registry } from '../../src/registry/index.js';
import { RUN_KINDS, type RunKind, type RunRecord, Tracker } from '../../src/track/index.js';
import { commands } from '../../src/cli/commands/index.js';
import { parseArgs } from '../../src/cli/parse.js';
import { createIO } from '../../src/cli/io.js';
import { isLorakitError } from '../../src/errors.js';

const root = mkdtempSync(join(tmpdir(), 'lk-cli-track-'));
const home = join(root, 'home');
process.env.LORAKIT_HOME = home;
const base = writeTinyModel(join(root, 'base'), { seed: 3 });
const adapter = join(root, 'adapter');
{
  const ck = await loadCheckpoint(base, { tokenizer: false });
  const cfg = parseLoraConfig({ r: 2 }, 'test', defaultLoraTargets(ck.config));
  writeAdapter(adapter, { config: cfg, tensors: initLoraTensors(resolveSites(cfg, linearModules(ck.config)), false, 11) });
}

/** Runs a verb in-process with --json; returns its JSON result or the LorakitError code it threw. */
async function verb(...argv: string[]): Promise<{ json: Record<string, unknown>; error?: string }> {
  const key = commands[`${argv[0]} ${argv[1]}`] ? `${argv[0]} ${argv[1]}` : argv[0];
  const cmd = await commands[key].load();
  const p = parseArgs(cmd, [...argv.slice(key.split(' ').length), '--json']);
  let out = '';
  const sink = (f: (s: string) => void): Writable => new Writable({ write(c, _e, cb) { f(String(c)); cb(); } });
  try {
    await cmd.run(p.flags, createIO(true, sink((s) => { out += s; }), sink(() => {})), p.positionals);
    return { json: JSON.parse(out) as Record<string, unknown> };
  } catch (e) {
    if (!isLorakitError(e)) throw e;
    return { json: {}, error: e.code };
  }
}

/** The run a verb reported, with its metrics and artifacts. */
async function recorded(
  runId: unknown,
): Promise<{
  run: RunRecord;
  final: Record<string, number>;
  artifacts: { name: string; kind: string; path: string }[];
}> {
  assert.equal(typeof runId, 'string', 'the verb reports the id of its tracked run');
  const t = await Tracker.open(home);
  try {
    return { run: await t.getRun(runId as string), final: await t.finalMetrics(runId as string), artifacts: await t.artifacts(runId as string) };
  } finally { await t.close(); }
}
const runsOf = async (kind: RunKind): Promise<RunRecord[]> => {
  const t = await Tracker.open(home);
  try {
    return await t.listRuns({ kind });
  } finally {
    await t.close();
  }
};

test('pretrain records a run: config, per-step loss, the model folder as artifact', async () => {
  const corpus = join(root, 'corpus.txt');
  writeFileSync(
    corpus,
    Array.from(
      { length: 40 },
      (_, i) => `Paragraph ${i}: the jury said the city of Atlanta was well run, and the people agreed.`,
    ).join('\n\n'),
  );
  const out = join(root, 'pretrained');
  const r = await verb('pretrain', '--corpus', corpus, '--tokenizer', base, '--out', out,
    '--hidden', '32', '--layers', '1', '--heads', '4', '--kv-heads', '2', '--max-positions', '64',
    '--steps', '3', '--seq', '32', '--batch', '2', '--eval-every', '0', '--eval-rows', '2', '--save-every', '0', '--threads', '1',
    '--ppl-stride', '32', '--sample-prompt', 'The');
  assert.equal(r.error, undefined);
  const { run, final, artifacts } = await recorded(r.json.runId);
  assert.deepEqual([run.kind, run.status, run.name], ['pretrain', 'finished', out]);
  assert.equal(run.config.steps, 3);
  assert.deepEqual(run.config.corpus, [corpus]);
  assert.ok(Number.isFinite(final.loss) && Number.isFinite(final.lr), JSON.stringify(final));
  assert.equal(run.summary.steps, 3);
  assert.deepEqual(artifacts.map((a) => [a.name, a.kind, a.path]), [['model', 'model', out]]);
});

test('eval records a run: config, lineage, per-task scores, the report files as artifacts', async () => {
  writeFileSync(
    join(root, 'held.jsonl'),
    Array.from({ length: 3 }, (_, i) => JSON.stringify({ text: `The jury said the city ${i} was well run.` })).join('\n'),
  );
  const suite = join(root, 'suite.yaml');
  writeFileSync(suite, ['name: tiny', 'tasks:', '  - { name: held, type: perplexity, tag: domain, source: held.jsonl }',
    'gate: { require_parity: false }', 'parity: { max_new_tokens: 2, probes: ["The"] }'].join('\n'));
  const out = join(root, 'eval');
  const r = await verb('eval', '--model', base, '--adapter', adapter, '--suite', suite, '--out', out, '--threads', '1');
  assert.equal(r.error, undefined);
  const { run, final, artifacts } = await recorded(r.json.runId);
  assert.deepEqual([run.kind, run.status], ['eval', 'finished']);
  assert.equal(run.config.suite, suite);
  assert.equal(run.config.adapter, adapter);
  assert.match(run.lineage.baseFingerprint ?? '', /^[0-9a-f]{64}$/);
  assert.match(run.lineage.evaluated ?? '', /^[0-9a-f]{64}$/, 'a folder is named by its fingerprint');
  assert.ok(
    Number.isFinite(final['held.base']) &&
      Number.isFinite(final['held.adapter']) &&
      Number.isFinite(final['held.delta']),
    JSON.stringify(final),
  );
  assert.equal(run.summary.suite, 'tiny');
  assert.deepEqual(artifacts.map((a) => a.name).sort(), ['report.items', 'report.json', 'report.markdown']);
});

test('merge records a run with the merged folder; a refused merge is a failed run; --no-track records nothing', async () => {
  const out = join(root, 'merged');
  const r = await verb('merge', '--base', base, '--adapter', adapter, '--out', out);
  assert.equal(r.error, undefined);
  const { run, final, artifacts } = await recorded(r.json.runId);
  assert.deepEqual([run.kind, run.status, run.config.adapter, run.config.out], ['merge', 'finished', adapter, out]);
  assert.equal(final.merged_modules, r.json.mergedModules);
  assert.deepEqual(artifacts.map((a) => [a.name, a.kind, a.path]), [['model', 'model', out]]);

  const other = writeTinyModel(join(root, 'other-base'), { seed: 4, hidden: 48 });
  const before = (await runsOf('merge')).length;
  const bad = await verb('merge', '--base', other, '--adapter', adapter, '--out', join(root, 'merged-bad'));
  assert.equal(bad.error, 'LK_ADAPTER');
  const failed = (await runsOf('merge'));
  assert.equal(failed.length, before + 1);
  assert.equal(failed[0].status, 'failed');
  assert.match(String(failed[0].summary.error), /does not fit|lora_A/);

  const quiet = await verb('merge', '--base', base, '--adapter', adapter, '--out', join(root, 'merged-quiet'), '--no-track');
  assert.equal(quiet.json.runId, null);
  assert.equal((await runsOf('merge')).length, before + 1);
});

test('registry export records a run whose lineage names the version, its base and the run that trained it', async () => {
  const reg = Registry.open(home);
  try {
    await reg.addBase(base, { name: 'tiny' });
    await reg.addAdapter(adapter, { name: 'support', base: 'tiny' });
  } finally { await reg.close(); }
  const out = join(root, 'exported');
  const r = await verb('registry', 'export', 'support@v1', '--out', out);
  assert.equal(r.error, undefined);
  const { run, final, artifacts } = await recorded(r.json.runId);
  assert.deepEqual([run.kind, run.status, run.config.ref], ['export', 'finished', 'support@v1']);
  assert.equal(run.lineage.adapterVersion, 'support@v1');
  assert.match(run.lineage.baseFingerprint ?? '', /^[0-9a-f]{64}$/);
  assert.ok(final.files >= 2 && final.bytes > 0, JSON.stringify(final));
  assert.deepEqual(artifacts.map((a) => [a.name, a.kind, a.path]), [['adapter', 'adapter', out]]);
});

test('every RunKind is recorded by some verb, and the tracker refuses any other kind', async () => {
  const t = await Tracker.open(home);
  try {
    const kinds = new Set((await t.listRuns()).map((r) => r.kind));
    for (const k of RUN_KINDS.filter((k) => k !== 'train')) assert.ok(kinds.has(k), `no '${k}' run was recorded`); // train: test/train
    await assert.rejects(t.startRun({ kind: 'deploy' as RunKind, config: {} }), (e: unknown) => isLorakitError(e, 'LK_ARG'));
  } finally { await t.close(); }
});
