// Fingerprints of model and adapter folders: stable under bookkeeping edits, sensitive to what matters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintAdapterDir, fingerprintModelDir, readSafetensorsSummary } from '../../src/models/fingerprint.js';
import { makeAdapter, makeBase, tmp } from '../registry/helpers.js';

test('a base fingerprint reads parameters and dtypes from the safetensors header', async () => {
  const d = makeBase(join(tmp(), 'base'));
  const fp = await fingerprintModelDir(d);
  assert.match(fp.fingerprint, /^[0-9a-f]{64}$/);
  assert.equal(fp.parameters, 16 * 8 + 4 * 8 * 8);
  assert.deepEqual(fp.dtypes, ['F32']);
  assert.equal(fp.architecture, 'LlamaForCausalLM');
  assert.deepEqual(fp.eosTokenIds, [2]);
  assert.ok(fp.chatTemplateSha256);
  assert.deepEqual(
    fp.files.map((f) => f.name),
    ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'],
  );
  assert.deepEqual(readSafetensorsSummary(join(d, 'model.safetensors')), { parameters: fp.parameters, dtypes: ['F32'] });
});

test('bookkeeping config keys do not change the fingerprint; weights, template, eos and config do', async () => {
  const root = tmp();
  const a = await fingerprintModelDir(makeBase(join(root, 'a')));
  const b = await fingerprintModelDir(makeBase(join(root, 'b'), { extraConfig: { _name_or_path: 'elsewhere', transformers_version: '9.9' } }));
  assert.equal(a.fingerprint, b.fingerprint);
  const cases = [
    { seed: 2 }, { chatTemplate: '{{ messages }}' }, { eos: [2, 3] }, { extraConfig: { rope_theta: 500000 } },
  ];
  for (const [i, o] of cases.entries()) {
    const c = await fingerprintModelDir(makeBase(join(root, `c${i}`), o));
    assert.notEqual(c.fingerprint, a.fingerprint, JSON.stringify(o));
  }
});

test('the per-file hash cache notices a rewritten file', async () => {
  const d = makeBase(join(tmp(), 'base'));
  const a = await fingerprintModelDir(d);
  const p = join(d, 'tokenizer.json');
  writeFileSync(p, readFileSync(p, 'utf8').replace('"a":0', '"z":0'));
  utimesSync(p, new Date(), new Date(Date.now() + 5000));
  const b = await fingerprintModelDir(d);
  assert.notEqual(a.tokenizerSha256, b.tokenizerSha256);
  assert.notEqual(a.fingerprint, b.fingerprint);
});

test('model folders without config.json or with only pickle weights are refused', async () => {
  const d = makeBase(join(tmp(), 'base'));
  rmSync(join(d, 'model.safetensors'));
  writeFileSync(join(d, 'pytorch_model.bin'), 'pickle');
  await assert.rejects(fingerprintModelDir(d), { code: 'LK_WEIGHTS' });
  rmSync(join(d, 'config.json'));
  await assert.rejects(fingerprintModelDir(d), { code: 'LK_CONFIG' });
});

test('a truncated safetensors header is LK_SAFETENSORS', async () => {
  const d = makeBase(join(tmp(), 'base'));
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(10_000n);
  writeFileSync(join(d, 'model.safetensors'), buf);
  await assert.rejects(fingerprintModelDir(d), { code: 'LK_SAFETENSORS' });
});

test('adapter fingerprints ignore base_model_name_or_path; pickle and missing config are refused', async () => {
  const root = tmp();
  const a = await fingerprintAdapterDir(makeAdapter(join(root, 'a'), { baseFingerprint: 'b'.repeat(64) }));
  assert.equal(a.lorakit?.base_fingerprint, 'b'.repeat(64));
  assert.equal(a.loraConfig.r, 2);
  const cfgPath = join(root, 'a', 'adapter_config.json');
  writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace('/somewhere/base', '/elsewhere'));
  utimesSync(cfgPath, new Date(), new Date(Date.now() + 5000));
  assert.equal((await fingerprintAdapterDir(join(root, 'a'))).fingerprint, a.fingerprint);
  const p = makeAdapter(join(root, 'p'));
  rmSync(join(p, 'adapter_model.safetensors'));
  writeFileSync(join(p, 'adapter_model.bin'), 'pickle');
  await assert.rejects(fingerprintAdapterDir(p), (e: Error & { code?: string }) => e.code === 'LK_ADAPTER' && /pickle/.test(e.message));
  rmSync(join(p, 'adapter_config.json'));
  await assert.rejects(fingerprintAdapterDir(p), { code: 'LK_ADAPTER' });
});
