// Issue 13 in the server: an alias served by name follows `registry alias-set` within --alias-ttl (requests in
// flight keep the old version); non-finite, truncated and foreign-base adapters are refused at load with a 4xx
// that says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from '../../src/registry/index.js';
import { fingerprintModelDir } from '../../src/models/fingerprint.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { defaultLoraTargets, linearModules } from '../../src/models/modules.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { resolveSites } from '../../src/lora/targets.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { writeAdapter } from '../../src/lora/peft-io.js';
import { createServer } from '../../src/serve/server.js';
import { commands } from '../../src/cli/commands/index.js';
import { parseArgs } from '../../src/cli/parse.js';
import { makeFixture, tmp } from './helpers.js';

test('serve: name@alias is re-resolved after --alias-ttl; the new version is served', async () => {
  const root = tmp('lk-serve-alias-');
  const fp = (await fingerprintModelDir((await makeFixture(root, [])).base)).fingerprint;
  const meta = { base_fingerprint: fp };
  const fx = await makeFixture(root, [{ name: 'v1', r: 4, seed: 41, meta }, { name: 'v2', r: 4, seed: 42, meta }]);
  const reg = Registry.open(join(root, 'home'));
  await reg.addAdapter(fx.adapters.v1, { name: 'support' });
  await reg.addAdapter(fx.adapters.v2, { name: 'support' });
  await reg.setAlias('support@v1', 'production');
  const adapters = { local1: fx.adapters.v1, local2: fx.adapters.v2 };
  const serve = await commands.serve.load();
  assert.equal(parseArgs(serve, ['--model', fx.base]).flags.aliasTtl, 5, 'documented default');
  assert.equal(parseArgs(serve, ['--model', fx.base, '--alias-ttl', '0.3']).flags.aliasTtl, 0.3);
  const app = await createServer({ model: fx.base, registry: reg, adapters, servedModelName: 'tiny', aliasTtlS: 0.3 });
  try {
    const ids = async (model: string): Promise<number[]> => {
      const payload = { model, prompt: 'The jury', max_tokens: 6, temperature: 0, return_token_ids: true };
      const r = await app.inject({ method: 'POST', url: '/v1/completions', payload });
      assert.equal(r.statusCode, 200, `${model}: ${r.body}`);
      return r.json().choices[0].token_ids;
    };
    const one = await ids('local1'), two = await ids('local2');
    assert.notDeepEqual(one, two);
    assert.deepEqual(await ids('support@production'), one);
    // A sequence still running on v1 holds its slot (a pinned lease) while the alias moves.
    const manager = app.lorakit.adapters!;
    const old = (await manager.resolve('support@production'))!;
    const lease = manager.lease(old);
    assert.notEqual(lease.acquire(), null);
    await reg.setAlias('support@v2', 'production');
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(await ids('support@production'), two, 'after the TTL the moved alias serves v2');
    assert.equal(old.removed, true);
    assert.notEqual(old.slot, null, 'the in-flight sequence keeps v1 until it finishes');
    lease.release();
    assert.equal(old.slot, null);
    const models = (await app.inject({ url: '/v1/models' })).json().data;
    assert.equal(models.find((m: { id: string }) => m.id === 'support@production').root, 'registry:support@v2');
  } finally {
    await app.close();
    await reg.close();
  }
});

test('serve: NaN, truncated and foreign-base adapters get a 4xx from /v1/load_lora_adapter, with the reason', async () => {
  const root = tmp('lk-serve-bad-');
  const fx = await makeFixture(root, [{ name: 'good', r: 2, seed: 3 }]);
  const ck = await loadCheckpoint(fx.base, { tokenizer: false });
  const write = (name: string, baseModel: string | null, nan: boolean): string => {
    const cfg = parseLoraConfig({ r: 2, base_model_name_or_path: baseModel }, 'test', defaultLoraTargets(ck.config));
    const tensors = initLoraTensors(resolveSites(cfg, linearModules(ck.config)), false, 5);
    if (nan) [...tensors.values()][3].data[2] = NaN;
    writeAdapter(join(root, name), { config: cfg, tensors });
    return join(root, name);
  };
  const nan = write('nan', null, true);
  const foreign = write('foreign', 'mistralai/Mistral-7B-v0.1', false);
  const truncated = write('truncated', null, false);
  const st = readFileSync(join(truncated, 'adapter_model.safetensors'));
  writeFileSync(join(truncated, 'adapter_model.safetensors'), st.subarray(0, st.length - 40));
  const app = await createServer({ model: fx.base, servedModelName: 'tiny' });
  try {
    type Res = { statusCode: number; body: string; json: () => { error: { code: string; message: string } } };
    const load = (name: string, path: string): Promise<Res> =>
      app.inject({ method: 'POST', url: '/v1/load_lora_adapter', payload: { lora_name: name, lora_path: path } });
    const r1 = await load('nan', nan);
    assert.equal(r1.statusCode, 400, r1.body);
    assert.equal(r1.json().error.code, 'LK_ADAPTER');
    assert.match(r1.json().error.message, /lora_B\.weight.*index 2/s);
    const r2 = await load('truncated', truncated);
    assert.ok(r2.statusCode >= 400 && r2.statusCode < 500, `${r2.statusCode} ${r2.body}`);
    assert.match(r2.json().error.message, /adapter_model\.safetensors/);
    const r3 = await load('foreign', foreign);
    assert.equal(r3.statusCode, 400, r3.body);
    assert.equal(r3.json().error.code, 'LK_BASE_MISMATCH');
    const ok = await load('good', fx.adapters.good);
    assert.equal(ok.statusCode, 200, ok.body);
    const names = (await app.inject({ url: '/v1/models' })).json().data.map((m: { id: string }) => m.id);
    assert.deepEqual(names.sort(), ['good', 'tiny']);
  } finally {
    await app.close();
  }
});
