// cluster status: a live replica's residency and hit counters are read from /v1/models and /metrics; a replica
// that does not answer is reported DOWN, not as an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterStatus, metricSum } from '../../src/serve/cluster.js';
import { createServer } from '../../src/serve/server.js';
import { freePort } from '../helpers/postgres.js';
import { makeFixture, tmp } from './helpers.js';

test('metricSum adds every label set of one metric', () => {
  const text = '# HELP x\nlorakit_adapter_cache_hits_total 3\nlorakit_adapter_slot_loads_total{a="1"} 2\n' +
    'lorakit_adapter_slot_loads_total{a="2"} 5\nlorakit_adapter_slot_loads_total_x 9\n';
  assert.equal(metricSum(text, 'lorakit_adapter_cache_hits_total'), 3);
  assert.equal(metricSum(text, 'lorakit_adapter_slot_loads_total'), 7);
});

test('cluster status reads residency and hit rate from a live replica and marks a dead one DOWN', async () => {
  const fx = await makeFixture(tmp('lk-cluster-status-'), [{ name: 'support', r: 4, seed: 21 }]);
  const app = await createServer({ model: fx.base, adapters: fx.adapters, servedModelName: 'tiny' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const port = (app.server.address() as { port: number }).port;
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/completions',
            payload: { model: 'support', prompt: 'hi', max_tokens: 2 },
          })
        ).statusCode,
        200,
      );
    }
    const dead = await freePort();
    const s = await clusterStatus([{ host: '127.0.0.1', port }, { host: '127.0.0.1', port: dead }], { timeoutMs: 2000 });
    assert.deepEqual(s.replicas[0].resident, ['support']);
    assert.equal(s.replicas[0].ready, true);
    assert.equal(s.replicas[0].slotLoads, 1);
    assert.equal(s.replicas[0].hits, 2);
    assert.equal(s.hitRate, 2 / 3);
    assert.equal(s.replicas[1].up, false);
    assert.deepEqual(s.duplicated, []);
  } finally { await app.close(); }
});
