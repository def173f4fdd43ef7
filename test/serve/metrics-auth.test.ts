// Issue 13: with API keys on, GET /metrics (every tenant's adapter names and token counts) needs an admin key or
// the --metrics-key; /v1/models gives non-admin tenants no filesystem paths (root = the adapter name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from '../../src/serve/server.js';
import { commands } from '../../src/cli/commands/index.js';
import { parseArgs } from '../../src/cli/parse.js';
import { makeFixture, tmp } from './helpers.js';

const root = tmp('lk-serve-metrics-');
const fx = await makeFixture(root, [{ name: 'a', r: 4, seed: 41 }, { name: 'b', r: 4, seed: 42 }]);
const keysFile = join(root, 'keys.json');
const keys = [{ key: 'tenant-a-secret', adapters: ['a'], name: 'team-a' }, { key: 'ops-secret-key', adapters: '*', name: 'ops' }];
writeFileSync(keysFile, JSON.stringify({ keys }));
const get = (url: string, key?: string) => ({ method: 'GET' as const, url, headers: key ? { authorization: `Bearer ${key}` } : {} });

test('/metrics with API keys: 401 without a key, 403 for a tenant key, 200 for an admin key or the metrics key', async () => {
  const opts = { model: fx.base, adapters: fx.adapters, apiKeys: keysFile, servedModelName: 'tiny', metricsKey: 'scrape-secret-1' };
  const app = await createServer(opts);
  try {
    const payload = { model: 'a', prompt: 'hi', max_tokens: 2 };
    const gen = { method: 'POST' as const, url: '/v1/completions', headers: { authorization: 'Bearer tenant-a-secret' }, payload };
    assert.equal((await app.inject(gen)).statusCode, 200);
    const anon = await app.inject(get('/metrics'));
    assert.equal(anon.statusCode, 401);
    assert.doesNotMatch(anon.body, /lorakit_|model="a"/, 'nothing of the metrics leaks');
    assert.equal((await app.inject(get('/metrics', 'wrong-key-123'))).statusCode, 401);
    const tenant = await app.inject(get('/metrics', 'tenant-a-secret'));
    assert.equal(tenant.statusCode, 403);
    assert.doesNotMatch(tenant.body, /lorakit_/);
    for (const key of ['ops-secret-key', 'scrape-secret-1']) {
      const r = await app.inject(get('/metrics', key));
      assert.equal(r.statusCode, 200, key);
      assert.match(r.body, /^lorakit_prompt_tokens_total\{model="a"\} \d+$/m);
      assert.match(r.body, /^lorakit_engine_models_per_decode_step_bucket\{le="1"\} [1-9]\d*$/m, 'one-model decode steps are counted');
    }
    assert.equal((await app.inject(get('/health'))).statusCode, 200, '/health stays open for probes');
  } finally {
    await app.close();
  }
});

test('/metrics without API keys: open, unless a metrics key is set', async () => {
  const open = await createServer({ model: fx.base, servedModelName: 'tiny' });
  const keyed = await createServer({ model: fx.base, servedModelName: 'tiny', metricsKey: 'scrape-secret-1' });
  try {
    assert.equal((await open.inject(get('/metrics'))).statusCode, 200);
    assert.equal((await keyed.inject(get('/metrics'))).statusCode, 401);
    assert.equal((await keyed.inject(get('/metrics', 'scrape-secret-1'))).statusCode, 200);
  } finally {
    await open.close();
    await keyed.close();
  }
});

test('/v1/models: a tenant sees names, never server paths; an admin sees the folders', async () => {
  const app = await createServer({ model: fx.base, adapters: { a: fx.adapters.a, b: fx.adapters.b }, apiKeys: keysFile, servedModelName: 'tiny' });
  try {
    const tenant = await app.inject(get('/v1/models', 'tenant-a-secret'));
    assert.equal(tenant.statusCode, 200);
    const data = tenant.json().data as { id: string; root: string }[];
    assert.deepEqual(data.map((d) => [d.id, d.root]), [['tiny', 'tiny'], ['a', 'a']]);
    assert.ok(!tenant.body.includes(root), 'no absolute path of the server in the answer');
    const admin = (await app.inject(get('/v1/models', 'ops-secret-key'))).json().data as { id: string; root: string }[];
    assert.equal(admin.find((d) => d.id === 'b')?.root, fx.adapters.b);
  } finally {
    await app.close();
  }
});

test('CLI: --metrics-key and --max-body-bytes reach the server options', async () => {
  const cmd = await commands.serve.load();
  const { flags } = parseArgs(cmd, ['--model', root, '--metrics-key', 'scrape-secret-1', '--max-body-bytes', '2000000']);
  assert.equal(flags.metricsKey, 'scrape-secret-1');
  assert.equal(flags.maxBodyBytes, 2_000_000);
});
