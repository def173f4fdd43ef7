// Issue 13 "Data loss": `--out` never deletes what the user owns. train, merge, adapter import and data curate
// refuse a file, a foreign non-empty folder (unless --overwrite) and, always, an --out that is / contains /
// lies inside an input of the same command; a re-run into a folder the same verb wrote replaces it.
// Each verb runs in-process with --json, as a user would call it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { createIO } from '../../src/cli/io.js';
import { parseArgs } from '../../src/cli/parse.js';
import type { AnyCommand } from '../../src/cli/command.js';
import { train } from '../../src/cli/commands/train.js';
import { mergeCmd } from '../../src/cli/commands/merge.js';
import { adapterImport } from '../../src/cli/commands/adapter-import.js';
import { dataCurate } from '../../src/cli/commands/data-curate.js';
import { quickstart } from '../../src/cli/commands/quickstart.js';
import { isLorakitError } from '../../src/errors.js';
import { pretrain, pretrainDefaults } from '../../src/train/pretrain.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-out-'));
const model = writeTinyModel(join(tmp, 'model'), { seed: 7 });
const data = join(tmp, 'train.jsonl');
writeFileSync(data, Array.from({ length: 6 }, (_, i) => JSON.stringify({ prompt: `Q${i}: say hi`, completion: ` hi ${i}` })).join('\n') + '\n');
const weights = (): Buffer => readFileSync(join(model, 'model.safetensors'));
const baseWeights = weights();

/** Runs a verb in-process; returns the JSON result, or the LorakitError code it threw (any other error fails the test). */
async function run(cmd: unknown, argv: string[]): Promise<{ code: string | null; json: Record<string, unknown> | null }> {
  const out: string[] = [];
  const sink = new Writable({ write(c, _e, cb) { out.push(String(c)); cb(); } });
  const quiet = new Writable({ write(_c, _e, cb) { cb(); } });
  try {
    const c = cmd as AnyCommand;
    const p = parseArgs(c, [...argv, '--json']);
    await c.run(p.flags, createIO(true, sink, quiet), p.positionals);
  } catch (e) {
    if (isLorakitError(e)) return { code: e.code, json: null };
    throw e;
  }
  return { code: null, json: JSON.parse(out.join('')) as Record<string, unknown> };
}

const trainArgs = (out: string, ...more: string[]): string[] =>
  ['--model', model, '--data', data, '--out', out, '--max-steps', '1', '--eval-fraction', '0', '--max-length', '64', '--no-track', '--threads', '1',
    ...more];

function userFolder(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'notes.txt'), 'my thesis');
  return dir;
}

test('train --out: a user folder survives, a file survives, the base and the data survive', async () => {
  const mine = userFolder('mine');
  assert.equal((await run(train, trainArgs(mine))).code, 'LK_OUT_EXISTS');
  assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'my thesis');
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'keep me');
  assert.equal((await run(train, trainArgs(file))).code, 'LK_OUT_EXISTS');
  assert.equal(readFileSync(file, 'utf8'), 'keep me');
  assert.equal((await run(train, trainArgs(model))).code, 'LK_OUT_IS_INPUT');
  assert.equal((await run(train, trainArgs(join(model, 'adapter')))).code, 'LK_OUT_IS_INPUT'); // inside --model
  assert.equal((await run(train, trainArgs(tmp))).code, 'LK_OUT_IS_INPUT'); // contains --model and --data
  assert.equal((await run(train, trainArgs(join(tmp, 'x'), '--run-dir', model))).code, 'LK_OUT_IS_INPUT'); // checkpoints/ in --model
  assert.deepEqual(weights(), baseWeights);
  assert.equal((await run(train, trainArgs(data))).code, 'LK_OUT_IS_INPUT');
  assert.ok(readFileSync(data, 'utf8').startsWith('{"prompt":"Q0'));
  // --overwrite replaces a folder the user points at on purpose, but never an input
  assert.equal((await run(train, trainArgs(model, '--overwrite'))).code, 'LK_OUT_IS_INPUT');
  assert.equal((await run(train, trainArgs(data, '--overwrite'))).code, 'LK_OUT_IS_INPUT');
  assert.deepEqual(weights(), baseWeights);
  const r = await run(train, trainArgs(mine, '--overwrite'));
  assert.equal(r.code, null);
  assert.ok(existsSync(join(mine, 'adapter_model.safetensors')));
  assert.ok(!existsSync(join(mine, 'notes.txt')));
});

test('train into its own earlier output replaces it; merge and adapter import refuse their inputs', async () => {
  const adapter = join(tmp, 'adapter');
  assert.equal((await run(train, trainArgs(adapter))).code, null);
  assert.equal((await run(train, trainArgs(adapter))).code, null, 'a re-run of train into the folder train wrote');
  const adapterFiles = readdirSync(adapter).sort();
  const adapterWeights = readFileSync(join(adapter, 'adapter_model.safetensors'));

  // merge: --out = --adapter, --base, a folder holding either, a file, a user folder, another verb's folder
  assert.equal((await run(mergeCmd, ['--base', model, '--adapter', adapter, '--out', adapter])).code, 'LK_OUT_IS_INPUT');
  assert.equal((await run(mergeCmd, ['--base', model, '--adapter', adapter, '--out', adapter, '--overwrite'])).code, 'LK_OUT_IS_INPUT');
  assert.equal((await run(mergeCmd, ['--base', model, '--adapter', adapter, '--out', model, '--overwrite'])).code, 'LK_OUT_IS_INPUT');
  assert.equal((await run(mergeCmd, ['--base', model, '--adapter', adapter, '--out', tmp, '--overwrite'])).code, 'LK_OUT_IS_INPUT');
  assert.deepEqual(readdirSync(adapter).sort(), adapterFiles);
  assert.deepEqual(readFileSync(join(adapter, 'adapter_model.safetensors')), adapterWeights);
  assert.deepEqual(weights(), baseWeights);
  const mine = userFolder('mine-merge');
  assert.equal((await run(mergeCmd, ['--base', model, '--adapter', adapter, '--out', mine])).code, 'LK_OUT_EXISTS');
  assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'my thesis');
  const merged = join(tmp, 'merged');
  assert.equal((await run(mergeCmd, ['--base', model, '--adapter', adapter, '--out', merged])).code, null);
  assert.equal((await run(mergeCmd, ['--base', model, '--adapter', adapter, '--out', merged])).code, null, 'a re-run of merge');
  assert.ok(existsSync(join(merged, 'model.safetensors')));
  // train may not replace merge's folder (nor merge train's) without --overwrite
  assert.equal((await run(train, trainArgs(merged))).code, 'LK_OUT_EXISTS');
  assert.equal((await run(mergeCmd, ['--base', model, '--adapter', adapter, '--out', join(tmp, 'adapter2')])).code, null);

  // adapter import: --out = the adapter, the base, a file
  assert.equal((await run(adapterImport, [adapter, '--base', model, '--out', adapter, '--overwrite'])).code, 'LK_OUT_IS_INPUT');
  assert.equal((await run(adapterImport, [adapter, '--base', model, '--out', model, '--overwrite'])).code, 'LK_OUT_IS_INPUT');
  const file = join(tmp, 'import-file');
  writeFileSync(file, 'keep me');
  assert.equal((await run(adapterImport, [adapter, '--base', model, '--out', file, '--overwrite'])).code, 'LK_OUT_EXISTS');
  assert.equal(readFileSync(file, 'utf8'), 'keep me');
  assert.deepEqual(readFileSync(join(adapter, 'adapter_model.safetensors')), adapterWeights);
  const imported = join(tmp, 'imported');
  assert.equal((await run(adapterImport, [adapter, '--base', model, '--out', imported])).code, null);
  assert.equal((await run(adapterImport, [adapter, '--base', model, '--out', imported])).code, null, 'a re-run of adapter import');
  assert.equal((await run(adapterImport, [adapter, '--base', model, '--out', userFolder('mine-import')])).code, 'LK_OUT_EXISTS');
  assert.equal((await run(adapterImport, [adapter, '--base', model, '--out', join(tmp, 'mine-import'), '--overwrite'])).code, null);
});

test('data curate --out: a file is a clear error (not a crash), a user folder survives, a re-run replaces its own', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-out-curate-'));
  const inDir = join(dir, 'in');
  mkdirSync(inDir);
  const input = join(inDir, 'in.jsonl');
  writeFileSync(input, ['The capital of France is Paris, a city on the river Seine.', 'The capital of Spain is Madrid, in the middle of the country.']
    .map((text) => JSON.stringify({ text })).join('\n') + '\n');
  const file = join(dir, 'out-file');
  writeFileSync(file, 'keep me');
  assert.equal((await run(dataCurate, [input, '--out', file])).code, 'LK_OUT_EXISTS');
  assert.equal(readFileSync(file, 'utf8'), 'keep me');
  const mine = join(dir, 'mine');
  mkdirSync(mine);
  writeFileSync(join(mine, 'notes.txt'), 'my thesis');
  assert.equal((await run(dataCurate, [input, '--out', mine])).code, 'LK_OUT_EXISTS');
  assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'my thesis');
  assert.equal((await run(dataCurate, [input, '--out', input, '--overwrite'])).code, 'LK_OUT_IS_INPUT');
  assert.ok(readFileSync(input, 'utf8').includes('Paris'));
  const out = join(inDir, 'curated'); // inside the input folder is fine: curate skips its own outputs
  const first = await run(dataCurate, [inDir, '--out', out]);
  assert.equal(first.code, null);
  assert.equal((first.json!.counts as { input: number }).input, 2);
  const again = await run(dataCurate, [inDir, '--out', out]);
  assert.equal(again.code, null, 'a re-run of data curate into its own folder');
  assert.equal((again.json!.counts as { input: number }).input, 2);
  assert.ok(existsSync(join(out, 'train.jsonl')) && existsSync(join(out, 'report.json')));
  assert.equal((await run(dataCurate, [input, '--out', mine, '--overwrite'])).code, null);
  assert.ok(!existsSync(join(mine, 'notes.txt')) && existsSync(join(mine, 'train.jsonl')));
});

test('quickstart --out: a user folder and the base model are refused before anything runs', async () => {
  const mine = userFolder('mine-quickstart');
  assert.equal((await run(quickstart, ['--model', model, '--out', mine])).code, 'LK_OUT_EXISTS');
  assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'my thesis');
  assert.equal((await run(quickstart, ['--model', model, '--out', model, '--overwrite'])).code, 'LK_OUT_IS_INPUT');
  assert.deepEqual(weights(), baseWeights);
});

test('pretrain --out: a user folder and the tokenizer folder are refused before anything runs', async () => {
  const mine = userFolder('mine-pretrain');
  const cfg = { ...pretrainDefaults, corpus: [data], tokenizer: model, out: mine };
  await assert.rejects(pretrain(cfg), (e: unknown) => isLorakitError(e, 'LK_OUT_EXISTS'));
  assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'my thesis');
  await assert.rejects(pretrain({ ...cfg, out: model }, {}, { overwrite: true }), (e: unknown) => isLorakitError(e, 'LK_OUT_IS_INPUT'));
  await assert.rejects(pretrain({ ...cfg, out: data }, {}, { overwrite: true }), (e: unknown) => isLorakitError(e, 'LK_OUT_IS_INPUT'));
  assert.deepEqual(weights(), baseWeights);
});
