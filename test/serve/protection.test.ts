// Protection and operations: tenants (401/403 that reveal nothing, /v1/models per key), 400 naming the field,
// a bounded queue (429 + Retry-After), per-request timeout, refusals at load (rank above the max, modules the
// base lacks, another base), load/unload endpoints, /metrics and /health, merged mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from '../../src/serve/server.js';
import { isLorakitError } from '../../src/errors.js';
import { makeFixture, tmp } from './helpers.js';

const root = tmp('lk-serve-prot-');
const fx = await makeFixture(root, [
  { name: 'a', r: 4, seed: 31 }, { name: 'b', r: 4, seed: 32 }, { name: 'big', r: 16, seed: 33 },
  { name: 'other', r: 4, seed: 34, meta: { base_fingerprint: 'f'.repeat(64) } }, { name: 'odd', r: 4, seed: 35 },
]);
const oddCfg = join(fx.adapters.odd, 'adapter_config.json');
writeFileSync(oddCfg, JSON.stringify({ ...JSON.parse(readFileSync(oddCfg, 'utf8')), target_modules: ['q_proj', 'c_attn'] }));
const keysFile = join(root, 'keys.json');
writeFileSync(
  keysFile,
  JSON.stringify({
    keys: [{ key: 'tenant-a-secret', adapters: ['a'], name: 'team-a' }, { key: 'ops-secret-key', adapters: '*', name: 'ops' }],
  }),
);
const post = (url: string, payload: unknown, key?: string) => ({
  method: 'POST' as const,
  url,
  payload: payload as object,
  headers: key ? { authorization: `Bearer ${key}` } : {},
});

test('tenants: 401 without a valid key, 403 for a model the key may not use (existing or not), filtered /v1/models', async () => {
  const app = await createServer({ model: fx.base, adapters: { a: fx.adapters.a, b: fx.adapters.b }, apiKeys: keysFile, servedModelName: 'tiny' });
  try {
    const body = { model: 'a', prompt: 'hi', max_tokens: 2, temperature: 0 };
    assert.equal((await app.inject(post('/v1/completions', body))).statusCode, 401);
    assert.equal((await app.inject(post('/v1/completions', body, 'wrong-key-123'))).statusCode, 401);
    assert.equal((await app.inject({ url: '/v1/models' })).statusCode, 401);
    assert.equal((await app.inject(post('/v1/completions', body, 'tenant-a-secret'))).statusCode, 200);
    assert.equal((await app.inject(post('/v1/completions', { ...body, model: 'tiny' }, 'tenant-a-secret'))).statusCode, 200);
    const forbidden = await app.inject(post('/v1/completions', { ...body, model: 'b' }, 'tenant-a-secret'));
    const unknown = await app.inject(post('/v1/completions', { ...body, model: 'no-such-adapter' }, 'tenant-a-secret'));
    assert.equal(forbidden.statusCode, 403);
    assert.equal(unknown.statusCode, 403);
    assert.equal(
      forbidden.json().error.message.replace("'b'", 'X'),
      unknown.json().error.message.replace("'no-such-adapter'", 'X'),
      '403 says nothing about existence',
    );
    assert.equal((await app.inject(post('/v1/completions', { ...body, model: 'no-such-adapter' }, 'ops-secret-key'))).statusCode, 404);
    const listA = (await app.inject({ url: '/v1/models', headers: { authorization: 'Bearer tenant-a-secret' } })).json();
    assert.deepEqual(listA.data.map((d: { id: string }) => d.id), ['tiny', 'a']);
    const listOps = (await app.inject({ url: '/v1/models', headers: { authorization: 'Bearer ops-secret-key' } })).json();
    assert.deepEqual(listOps.data.map((d: { id: string }) => d.id), ['tiny', 'a', 'b']);
    assert.equal((await app.inject(post('/v1/load_lora_adapter', { lora_name: 'x', lora_path: fx.adapters.b }, 'tenant-a-secret'))).statusCode, 403);
    assert.equal((await app.inject({ url: '/health' })).statusCode, 200);
  } finally {
    await app.close();
  }
});

test('400 names the field', async () => {
  const app = await createServer({ model: fx.base, servedModelName: 'tiny', maxPromptTokens: 20, maxTokensLimit: 50 });
  try {
    const cases: [Record<string, unknown>, string][] = [
      [{ prompt: 'hi' }, 'model'],
      [{ model: 'tiny' }, 'prompt'],
      [{ model: 'tiny', prompt: 'hi', max_tokens: 0 }, 'max_tokens'],
      [{ model: 'tiny', prompt: 'hi', max_tokens: 51 }, 'max_tokens'],
      [{ model: 'tiny', prompt: 'hi', max_tokens: 'ten' }, 'max_tokens'],
      [{ model: 'tiny', prompt: 'hi', temperature: 3 }, 'temperature'],
      [{ model: 'tiny', prompt: 'hi', top_p: -1 }, 'top_p'],
      [{ model: 'tiny', prompt: 'hi', n: 0 }, 'n'],
      [{ model: 'tiny', prompt: 'hi', stop: [''] }, 'stop'],
      [{ model: 'tiny', prompt: 'x'.repeat(21) }, 'prompt'],
      [{ model: 'tiny', prompt: 'hi', seed: 1.5 }, 'seed'],
    ];
    for (const [payload, field] of cases) {
      const r = await app.inject(post('/v1/completions', payload));
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.equal(r.json().error.param, field, JSON.stringify(payload));
      assert.match(r.json().error.message, new RegExp(`'${field}'`));
    }
    const chat = await app.inject(post('/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: 5 }] }));
    assert.equal(chat.statusCode, 400);
    assert.equal(chat.json().error.param, 'messages[0].content');
    assert.equal((await app.inject(post('/v1/completions', { model: 'nope', prompt: 'hi' }))).statusCode, 404);
  } finally {
    await app.close();
  }
});

test('bounded queue: 429 with Retry-After when full; per-request timeout', async () => {
  const app = await createServer({ model: fx.base, servedModelName: 'tiny', maxBatch: 1, maxQueue: 2 });
  // A separate server whose timeout is far shorter than a 240-token generation takes on any machine.
  const strict = await createServer({ model: fx.base, servedModelName: 'tiny', requestTimeoutS: 0.02 });
  try {
    const rs = await Promise.all(
      Array.from({ length: 8 }, () =>
        app.inject(post('/v1/completions', { model: 'tiny', prompt: 'hello', max_tokens: 4, temperature: 0 })),
      ),
    );
    const limited = rs.filter((r) => r.statusCode === 429);
    assert.ok(limited.length >= 1, `some requests were refused (${rs.map((r) => r.statusCode).join(',')})`);
    assert.ok(Number(limited[0].headers['retry-after']) >= 1);
    assert.equal(limited[0].json().error.type, 'rate_limit_error');
    assert.ok(rs.every((r) => r.statusCode === 200 || r.statusCode === 429));
    const slow = await strict.inject(
      post('/v1/completions', {
        model: 'tiny',
        prompt: 'hello',
        max_tokens: 240,
        temperature: 0,
        stop: ['\u0000never'],
      }),
    );
    assert.equal(slow.statusCode, 408, slow.body);
    assert.equal(strict.lorakit.engine.batchSize, 0);
  } finally {
    await app.close();
    await strict.close();
  }
});

test('refusals at load, before traffic: rank above --max-lora-rank, modules the base lacks, another base', async () => {
  await assert.rejects(
    createServer({ model: fx.base, adapters: { big: fx.adapters.big }, maxLoraRank: 8 }),
    (e) => isLorakitError(e) && e.code === 'LK_ADAPTER' && /rank 16/.test(e.message),
  );
  // One adapter check for every verb and the server (src/lora/load.ts): a target the base lacks does not fit it.
  await assert.rejects(
    createServer({ model: fx.base, adapters: { odd: fx.adapters.odd } }),
    (e) => isLorakitError(e) && e.code === 'LK_ADAPTER' && /c_attn/.test(e.message),
  );
  await assert.rejects(
    createServer({ model: fx.base, adapters: { other: fx.adapters.other } }),
    (e) => isLorakitError(e) && e.code === 'LK_BASE_MISMATCH',
  );
  const app = await createServer({ model: fx.base, maxLoraRank: 8, servedModelName: 'tiny' });
  try {
    const big = await app.inject(post('/v1/load_lora_adapter', { lora_name: 'big', lora_path: fx.adapters.big }));
    assert.equal(big.statusCode, 400);
    assert.equal(big.json().error.code, 'LK_ADAPTER');
    assert.match(big.json().error.message, /rank 16.*--max-lora-rank 8/);
    assert.equal(
      (await app.inject(post('/v1/load_lora_adapter', { lora_name: 'other', lora_path: fx.adapters.other }))).json()
        .error.code,
      'LK_BASE_MISMATCH',
    );
    assert.equal((await app.inject(post('/v1/load_lora_adapter', { lora_name: 'a' }))).json().error.param, 'lora_path');
    // runtime load → served → unload → gone
    const ok = await app.inject(post('/v1/load_lora_adapter', { lora_name: 'a', lora_path: fx.adapters.a }));
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await app.inject(post('/v1/load_lora_adapter', { lora_name: 'a', lora_path: fx.adapters.a }))).statusCode, 409);
    assert.equal((await app.inject(post('/v1/completions', { model: 'a', prompt: 'hi', max_tokens: 3 }))).statusCode, 200);
    assert.equal((await app.inject(post('/v1/unload_lora_adapter', { lora_name: 'a' }))).statusCode, 200);
    assert.equal((await app.inject(post('/v1/completions', { model: 'a', prompt: 'hi', max_tokens: 3 }))).statusCode, 404);
    assert.equal((await app.inject(post('/v1/unload_lora_adapter', { lora_name: 'a' }))).statusCode, 404);
  } finally {
    await app.close();
  }
});

test('/metrics: Prometheus text with requests, tokens, queue, batch, adapter loads/evictions/hits, hit rate, latency', async () => {
  const app = await createServer({ model: fx.base, adapters: { a: fx.adapters.a, b: fx.adapters.b }, maxLoras: 1, servedModelName: 'tiny' });
  try {
    for (const m of ['a', 'a', 'b', 'tiny']) {
      assert.equal(
        (await app.inject(post('/v1/completions', { model: m, prompt: 'hi', max_tokens: 3, temperature: 0 })))
          .statusCode,
        200,
      );
    }
    await app.inject(post('/v1/completions', { model: 'tiny' }));
    const r = await app.inject({ url: '/metrics' });
    assert.match(r.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    const text = r.body;
    const value = (line: string): number => Number(new RegExp(`^${line.replace(/[{}"=.,/]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(value('lorakit_requests_total{route="/v1/completions",code="200"}'), 4);
    assert.equal(value('lorakit_requests_total{route="/v1/completions",code="400"}'), 1);
    assert.equal(value('lorakit_prompt_tokens_total{model="a"}'), 4);
    assert.equal(value('lorakit_completion_tokens_total{model="tiny"}') >= 0, true);
    assert.equal(value('lorakit_adapter_loads_total'), 2);
    assert.equal(value('lorakit_adapter_evictions_total'), 1); // one slot: b evicts a
    assert.equal(value('lorakit_adapter_cache_hits_total{adapter="a"}'), 1);
    assert.equal(value('lorakit_adapter_cache_hit_rate'), 1 / 3);
    assert.equal(value('lorakit_adapter_resident{adapter="a"}'), 0);
    assert.equal(value('lorakit_adapter_resident{adapter="b"}'), 1);
    assert.equal(value('lorakit_queue_depth'), 0);
    assert.equal(value('lorakit_running_batch_size'), 0);
    assert.equal(value('lorakit_request_latency_seconds_count{endpoint="completions"}'), 4);
    assert.match(text, /^# TYPE lorakit_request_latency_seconds histogram$/m);
    assert.match(text, /^lorakit_engine_step_seconds_bucket\{kind="decode",le="\+Inf"\} \d+$/m);
  } finally {
    await app.close();
  }
});

test('merged mode: the adapter merged into the weights gives the same greedy tokens as served unmerged', async () => {
  const multi = await createServer({ model: fx.base, adapters: { a: fx.adapters.a }, servedModelName: 'tiny' });
  const merged = await createServer({ model: fx.base, adapters: { a: fx.adapters.a }, merged: 'a', servedModelName: 'tiny' });
  try {
    const body = { model: 'a', prompt: 'The jury', max_tokens: 8, temperature: 0, return_token_ids: true };
    const x = (await multi.inject(post('/v1/completions', body))).json(), y = (await merged.inject(post('/v1/completions', body))).json();
    assert.deepEqual(y.choices[0].token_ids, x.choices[0].token_ids);
    assert.equal((await merged.inject(post('/v1/completions', { ...body, model: 'tiny' }))).statusCode, 404);
    assert.deepEqual((await merged.inject({ url: '/v1/models' })).json().data.map((d: { id: string }) => d.id), ['a']);
  } finally {
    await multi.close();
    await merged.close();
  }
});
