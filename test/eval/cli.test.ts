// `lorakit eval` through the real CLI entry (child processes, LORAKIT_HOME in a temp folder): exit 0 when the
// gate passes, 3 when it fails (with the reasons on stderr), report files in --out, and the registry round
// trip: evaluate 'name@v1', the report lands on the version, alias-set --require-suite then accepts or refuses.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { commands } from '../../src/cli/commands/index.js';
import { helpText, parseArgs } from '../../src/cli/parse.js';
import { isLorakitError } from '../../src/errors.js';
import { Registry } from '../../src/registry/index.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import { trainAdapter } from '../../src/train/trainer.js';
import { CLI } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-eval-cli-'));
const home = join(tmp, 'home');
const model = join(tmp, 'model'), adapter = join(tmp, 'adapter');
const sentences = (n: number, from: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      text: `The people of the united states, in congress number ${from + i}, shall make law for the union and its government.`,
    }),
  ).join('\n');

function cli(...args: string[]): { code: number | null; json: Record<string, unknown>; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, 'eval', ...args], { env: { ...process.env, LORAKIT_HOME: home, USER: 'tester' }, encoding: 'utf8' });
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(r.stdout); } catch { /* text mode */ }
  return { code: r.status, json, stdout: r.stdout, stderr: r.stderr };
}

function suiteFile(name: string, file: string, drop: number): string {
  writeFileSync(join(tmp, file), [
    `name: ${name}`,
    'tasks:',
    '  - { name: congress, type: perplexity, tag: domain, source: held.jsonl }',
    '  - { name: brown, type: perplexity, tag: general, source: { builtin: brown-heldout }, max_items: 4, max_tokens_per_document: 128 }',
    `gate: { domain_perplexity_drop_pct: ${drop}, max_general_regression_pct: 1000 }`,
    'parity: { max_new_tokens: 4, probes: ["The people", "Congress shall"] }',
  ].join('\n'));
  return join(tmp, file);
}

before(async () => {
  writeTinyModel(model, { hidden: 32, seed: 9 });
  writeFileSync(join(tmp, 'train.jsonl'), sentences(40, 0));
  writeFileSync(join(tmp, 'held.jsonl'), sentences(6, 100));
  await trainAdapter(
    resolveTrainConfig({
      model,
      data: join(tmp, 'train.jsonl'),
      out: adapter,
      maxLength: 128,
      lr: 1e-2,
      maxSteps: 12,
      batchSize: 8,
      evalFraction: 0,
      threads: 1,
    }),
  );
});

test('eval --help and flags parse without side effects', async () => {
  const cmd = await commands.eval.load();
  const help = helpText(cmd);
  for (const f of ['--model', '--adapter', '--suite', '--out', '--json', '--seed', '--register']) assert.ok(help.includes(f), f);
  const p = parseArgs(cmd, ['--model', model, '--suite', 'general', '--seed', '3', '--adapter', 'support@v2']);
  assert.deepEqual([p.flags.seed, p.flags.adapter, p.flags.suite], [3, 'support@v2', 'general']);
  const r = cli('--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /lorakit eval/);
});

test('a passing gate exits 0 and writes report.json/md and items.jsonl; a failing gate exits 3 and says why', () => {
  const out = join(tmp, 'out');
  const ok = cli('--model', model, '--adapter', adapter, '--suite', suiteFile('congress', 'pass.yaml', 5), '--out', out, '--json', '--threads', '1');
  assert.equal(ok.code, 0, ok.stderr);
  const report = ok.json.report as {
    suite: string;
    passed: boolean;
    tasks: { name: string; delta: { value: number } }[];
    parity: { passed: boolean; paths: { name: string; status: string }[] };
  };
  assert.equal(report.suite, 'congress');
  assert.equal(report.passed, true);
  assert.ok(report.tasks[0].delta.value < -5);
  assert.equal(report.parity.passed, true);
  assert.deepEqual(
    report.parity.paths.map((p) => [p.name, p.status]),
    [['train', 'reference'], ['adapter', 'ok'], ['merged', 'ok'], ['server', 'ok']],
  );
  for (const f of ['report.json', 'report.md', 'items.jsonl']) assert.ok(existsSync(join(out, f)), f);
  assert.match(ok.stderr, /"event":"done"/, 'progress as JSON lines on stderr');

  const bad = cli('--model', model, '--adapter', adapter, '--suite', suiteFile('congress', 'strict.yaml', 99.9), '--threads', '1');
  assert.equal(bad.code, 3, bad.stderr);
  assert.match(bad.stderr, /the 'congress' gate FAILED:\n {2}- domain perplexity of 'congress' fell .* needs to fall by at least 99.9%/);
  assert.match(bad.stdout, /^FAILED: domain perplexity/m);
  const missing = cli('--model', model, '--suite', join(tmp, 'none.yaml'), '--json');
  assert.equal(missing.code, 1);
  assert.equal((missing.json.error as { code: string }).code, 'LK_EVAL');
});

test('registry: eval of name@v1 stores the report on the version; ' +
  'alias-set --require-suite accepts it, then refuses after a failing report', async () => {
  const reg = Registry.open(home);
  try {
    await reg.addBase(model, { name: 'tiny' });
    const v = (await reg.addAdapter(adapter, { name: 'congress-lora' })).version;
    assert.equal(v.ref, 'congress-lora@v1');
  } finally { await reg.close(); }
  const pass = suiteFile('congress', 'pass.yaml', 5);
  const r = cli('--model', model, '--adapter', 'congress-lora@v1', '--suite', pass, '--json', '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.registered, 'congress-lora@v1');
  assert.equal((r.json.report as { adapter: { ref: string } }).adapter.ref, 'congress-lora@v1');
  let reg2 = Registry.open(home);
  try {
    const shown = await reg2.show('congress-lora@v1');
    assert.deepEqual(shown.evalReports.map((e) => [e.suite, e.passed]), [['congress', true]]);
    assert.equal((await reg2.setAlias('congress-lora@v1', 'production', { requireSuite: 'congress' })).version.aliases[0], 'production');
  } finally { await reg2.close(); }
  // A failing report for the same suite, attached with --register (the folder must be that version).
  const f = cli(
    '--model', model, '--adapter', adapter, '--register', 'congress-lora@v1',
    '--suite', suiteFile('congress', 'strict.yaml', 99.9), '--json', '--threads', '1',
  );
  assert.equal(f.code, 3, f.stderr);
  assert.equal(f.json.registered, 'congress-lora@v1');
  reg2 = Registry.open(home);
  try {
    await assert.rejects(reg2.setAlias('congress-lora@v1', 'staging', { requireSuite: 'congress' }), (e: unknown) => isLorakitError(e, 'LK_GATE'));
  } finally { await reg2.close(); }
  // --register refuses a folder that is not the registered version.
  const other = join(tmp, 'other-adapter');
  await trainAdapter(
    resolveTrainConfig({
      model,
      data: join(tmp, 'train.jsonl'),
      out: other,
      maxLength: 128,
      lr: 1e-2,
      maxSteps: 2,
      batchSize: 8,
      evalFraction: 0,
      threads: 1,
      seed: 4,
    }),
  );
  const wrong = cli('--model', model, '--adapter', other, '--register', 'congress-lora@v1', '--suite', pass, '--json');
  assert.equal(wrong.code, 1);
  assert.equal((wrong.json.error as { code: string }).code, 'LK_CONFLICT');
});
