// Registry references as model names: 'name' (latest), 'name@v1', 'name@production' resolve, export once into a
// cache folder and serve; an alias on another base is refused; unknown references are 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Registry } from '../../src/registry/index.js';
import { fingerprintModelDir } from '../../src/models/fingerprint.js';
import { createServer } from '../../src/serve/server.js';
import { makeFixture, tmp } from './helpers.js';

test('registry references: latest, @vN and @alias resolve and serve with their own outputs', async () => {
  const root = tmp('lk-serve-reg-');
  const fx0 = await makeFixture(root, []);
  const fp = (await fingerprintModelDir(fx0.base)).fingerprint;
  const fx = await makeFixture(root, [
    { name: 'v1', r: 4, seed: 41, meta: { base_fingerprint: fp } },
    { name: 'v2', r: 4, seed: 42, meta: { base_fingerprint: fp } },
  ]);
  const reg = Registry.open(join(root, 'home'));
  await reg.addBase(fx.base, { name: 'tiny' });
  await reg.addAdapter(fx.adapters.v1, { name: 'support' });
  await reg.addAdapter(fx.adapters.v2, { name: 'support' });
  await reg.setAlias('support@v1', 'production');
  const app = await createServer({
    model: fx.base,
    registry: reg,
    adapters: { local1: fx.adapters.v1, local2: fx.adapters.v2 },
    servedModelName: 'tiny',
  });
  try {
    const ids = async (model: string): Promise<number[]> => {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/completions',
        payload: { model, prompt: 'The jury', max_tokens: 6, temperature: 0, return_token_ids: true },
      });
      assert.equal(r.statusCode, 200, `${model}: ${r.body}`);
      return r.json().choices[0].token_ids;
    };
    assert.deepEqual(await ids('support@production'), await ids('local1'));
    assert.deepEqual(await ids('support@v2'), await ids('local2'));
    assert.deepEqual(await ids('support'), await ids('local2'));
    const models = (await app.inject({ url: '/v1/models' })).json().data;
    const prod = models.find((m: { id: string }) => m.id === 'support@production');
    assert.equal(prod.root, 'registry:support@v1');
    assert.equal(prod.parent, 'tiny');
    for (const bad of ['support@v9', 'nobody', 'support@staging', 'not a ref!']) {
      assert.equal((await app.inject({ method: 'POST', url: '/v1/completions', payload: { model: bad, prompt: 'x' } })).statusCode, 404, bad);
    }
  } finally {
    await app.close();
    await reg.close();
  }
});
