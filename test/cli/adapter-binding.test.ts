// Issue 13, "adapters stay bound to their base", through the CLI verbs (run in-process, LORAKIT_HOME in a temp
// dir): registry export keeps the binding, foreign adapters are checked by base name, import writes a base
// fingerprint only when it was checked, registry references work in merge/score/generate/adapter import, and a
// NaN adapter is refused by score and merge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { linearModules, defaultLoraTargets } from '../../src/models/modules.js';
import { fingerprintModelDir } from '../../src/models/fingerprint.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { resolveSites } from '../../src/lora/targets.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { writeAdapter } from '../../src/lora/peft-io.js';
import { Registry } from '../../src/registry/index.js';
import { commands } from '../../src/cli/commands/index.js';
import { parseArgs } from '../../src/cli/parse.js';
import { createIO } from '../../src/cli/io.js';
import { type ErrorCode, isLorakitError } from '../../src/errors.js';

const root = mkdtempSync(join(tmpdir(), 'lk-cli-bind-'));
process.env.LORAKIT_HOME = join(root, 'home');
const baseA = writeTinyModel(join(root, 'base-a'), { seed: 3 });
const baseB = writeTinyModel(join(root, 'base-b'), { seed: 4 }); // same shapes, other weights
const text = join(root, 'held-out.txt');
writeFileSync(text, 'The jury said the city was well run. '.repeat(4));

interface Result { code: number; json: Record<string, unknown>; stderr: string; error?: { code: ErrorCode; message: string } }

async function verb(...argv: string[]): Promise<Result> {
  const key = commands[`${argv[0]} ${argv[1]}`] ? `${argv[0]} ${argv[1]}` : argv[0];
  const cmd = await commands[key].load();
  const p = parseArgs(cmd, [...argv.slice(key.split(' ').length), '--json']);
  let out = '', err = '';
  const sink = (f: (s: string) => void): Writable => new Writable({ write(c, _e, cb) { f(String(c)); cb(); } });
  try {
    const code = await cmd.run(p.flags, createIO(true, sink((s) => { out += s; }), sink((s) => { err += s; })), p.positionals);
    return { code: typeof code === 'number' ? code : 0, json: JSON.parse(out) as Record<string, unknown>, stderr: err };
  } catch (e) {
    if (!isLorakitError(e)) throw e;
    return { code: 1, json: {}, stderr: err, error: { code: e.code, message: e.message } };
  }
}

async function adapter(name: string, o: { baseModel?: string | null; baseFingerprint?: string; nan?: boolean } = {}): Promise<string> {
  const ck = await loadCheckpoint(baseA, { tokenizer: false });
  const cfg = parseLoraConfig({ r: 2, base_model_name_or_path: o.baseModel ?? null }, 'test', defaultLoraTargets(ck.config));
  const tensors = initLoraTensors(resolveSites(cfg, linearModules(ck.config)), false, 11);
  if (o.nan) [...tensors.values()][1].data[3] = NaN;
  const dir = join(root, name);
  writeAdapter(dir, { config: cfg, tensors }, o.baseFingerprint ? { base_fingerprint: o.baseFingerprint } : {});
  if (!o.baseFingerprint) rmSync(join(dir, 'lorakit.json'));
  return dir;
}

test('registry export keeps the base binding: merging the exported folder onto another base is refused', async () => {
  const fpA = (await fingerprintModelDir(baseA)).fingerprint;
  const plain = await adapter('exported-src'); // no lorakit.json, registered with --base
  const reg = Registry.open();
  try {
    await reg.addBase(baseA, { name: 'tiny-a' });
    await reg.addAdapter(plain, { name: 'plain', base: 'tiny-a' });
  } finally { await reg.close(); }
  const out = join(root, 'exported');
  const ex = await verb('registry', 'export', 'plain@v1', '--out', out);
  assert.equal(ex.code, 0, ex.error?.message);
  const exported = JSON.parse(readFileSync(join(out, 'lorakit.json'), 'utf8'));
  assert.equal(exported.base_fingerprint, fpA);
  assert.equal(exported.base_binding.status, 'registry', 'bound by add-adapter --base, not by the adapter itself');
  const bad = await verb('merge', '--base', baseB, '--adapter', out, '--out', join(root, 'merged-b'));
  assert.equal(bad.error?.code, 'LK_BASE_MISMATCH');
  assert.ok(!existsSync(join(root, 'merged-b')));
  // ... and registering the exported folder again (no --base) keeps it on base A.
  const again = Registry.open();
  try {
    assert.equal((await again.addAdapter(out, { name: 'plain-again' })).version.baseFingerprint, fpA);
  } finally { await again.close(); }
  const ok = await verb('merge', '--base', baseA, '--adapter', out, '--out', join(root, 'merged-a'));
  assert.equal(ok.code, 0, ok.error?.message);
  assert.equal((ok.json.base_check as { status: string }).status, 'fingerprint');
});

test('a foreign adapter naming another base is refused by score and import; --allow-base-mismatch is recorded', async () => {
  const foreign = await adapter('foreign', { baseModel: 'meta-llama/Llama-3.2-1B' });
  const s = await verb('score', '--model', baseA, '--adapter', foreign, '--file', text);
  assert.equal(s.error?.code, 'LK_BASE_MISMATCH');
  assert.match(s.error!.message, /Llama-3\.2-1B/);
  const imp = await verb('adapter', 'import', foreign, '--base', baseB, '--out', join(root, 'imp-foreign'));
  assert.equal(imp.error?.code, 'LK_BASE_MISMATCH');
  assert.ok(!existsSync(join(root, 'imp-foreign')));
  const forced = await verb('adapter', 'import', foreign, '--base', baseB, '--out', join(root, 'imp-forced'), '--allow-base-mismatch');
  assert.equal(forced.code, 0, forced.error?.message);
  assert.equal((forced.json.base_check as { status: string }).status, 'mismatch-allowed');
  const meta = JSON.parse(readFileSync(join(root, 'imp-forced', 'lorakit.json'), 'utf8'));
  assert.equal(meta.base_fingerprint, undefined, 'no fingerprint that was not checked');
  assert.equal(meta.base_binding.status, 'mismatch-allowed');
  assert.match(forced.stderr, /--allow-base-mismatch/);
});

test('an adapter that names no base: "base unverified" on stderr and in --json; import writes no fingerprint', async () => {
  const anon = await adapter('anon');
  const s = await verb('score', '--model', baseA, '--adapter', anon, '--file', text);
  assert.equal(s.code, 0, s.error?.message);
  assert.match(s.stderr, /base unverified/);
  assert.equal((s.json.base_check as { verified: boolean }).verified, false);
  const imp = await verb('adapter', 'import', anon, '--base', baseB, '--out', join(root, 'imp-anon'));
  assert.equal(imp.code, 0, imp.error?.message);
  assert.match(imp.stderr, /base unverified/);
  const meta = JSON.parse(readFileSync(join(root, 'imp-anon', 'lorakit.json'), 'utf8'));
  assert.equal(meta.base_fingerprint, undefined);
  assert.equal(meta.base_binding.status, 'unverified');
  // A name that matches the base folder verifies it; then import binds the fingerprint.
  const named = await adapter('named', { baseModel: '/elsewhere/models/base-b' });
  const ok = await verb('adapter', 'import', named, '--base', baseB, '--out', join(root, 'imp-named'));
  assert.equal(ok.code, 0, ok.error?.message);
  const fpB = (await fingerprintModelDir(baseB)).fingerprint;
  assert.equal(JSON.parse(readFileSync(join(root, 'imp-named', 'lorakit.json'), 'utf8')).base_fingerprint, fpB);
});

test('registry references work in merge, score, generate and adapter import; a ref on another base is refused', async () => {
  const fpA = (await fingerprintModelDir(baseA)).fingerprint;
  const bound = await adapter('bound', { baseFingerprint: fpA });
  const reg = Registry.open();
  try {
    await reg.addBase(baseA, { name: 'tiny-a' });
    await reg.addAdapter(bound, { name: 'support' });
    await reg.setAlias('support@v1', 'production');
  } finally { await reg.close(); }
  const m = await verb('merge', '--base', baseA, '--adapter', 'support@production', '--out', join(root, 'merged-ref'));
  assert.equal(m.code, 0, m.error?.message);
  const s = await verb('score', '--model', baseA, '--adapter', 'support@v1', '--file', text);
  assert.equal(s.code, 0, s.error?.message);
  const direct = await verb('score', '--model', baseA, '--adapter', bound, '--file', text);
  assert.equal(s.json.perplexity, direct.json.perplexity);
  const g = await verb('generate', '--model', baseA, '--adapter', 'support@production', '--prompt', 'The jury', '--max-new-tokens', '3');
  assert.equal(g.code, 0, g.error?.message);
  const i = await verb('adapter', 'import', 'support@production', '--base', baseA);
  assert.equal(i.code, 0, i.error?.message);
  const wrong = await verb('score', '--model', baseB, '--adapter', 'support@production', '--file', text);
  assert.equal(wrong.error?.code, 'LK_BASE_MISMATCH');
  const missing = await verb('score', '--model', baseA, '--adapter', 'support@staging', '--file', text);
  assert.equal(missing.error?.code, 'LK_NOT_FOUND');
});

test('a NaN adapter is refused by score and merge, naming the tensor', async () => {
  const nan = await adapter('nan', { nan: true });
  for (const r of [await verb('score', '--model', baseA, '--adapter', nan, '--file', text),
    await verb('merge', '--base', baseA, '--adapter', nan, '--out', join(root, 'merged-nan'))]) {
    assert.equal(r.error?.code, 'LK_ADAPTER');
    assert.match(r.error!.message, /lora_B\.weight.*index 3/s);
  }
  assert.ok(!existsSync(join(root, 'merged-nan')));
});
