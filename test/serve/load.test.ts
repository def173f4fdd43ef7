// A bounded load test: many concurrent clients over several adapters (more adapters than slots, so LRU evicts
// while requests run) for a fixed time; zero failures, every greedy answer equal to the same request sent alone,
// nothing left running or pinned afterwards. Throughput and latency are printed, not asserted (see bench/serve.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from '../../src/serve/server.js';
import { parseArgs } from '../../src/cli/parse.js';
import { commands } from '../../src/cli/commands/index.js';
import { makeFixture, tmp } from './helpers.js';

test('load: 16 clients × 4 adapters + base over 2 slots for 2 s: no failures, answers equal to alone', async () => {
  const fx = await makeFixture(tmp('lk-serve-load-'), [1, 2, 3, 4].map((i) => ({ name: `ad${i}`, r: 2 * i, seed: 50 + i })));
  const app = await createServer({ model: fx.base, adapters: fx.adapters, maxLoras: 2, maxBatch: 8, maxQueue: 64, servedModelName: 'tiny' });
  try {
    const models = ['tiny', 'ad1', 'ad2', 'ad3', 'ad4'], prompts = ['a', 'Hello', 'The quick brown fox'];
    const ask = async (model: string, prompt: string, maxTokens: number): Promise<{ code: number; ids: number[] }> => {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/completions',
        payload: { model, prompt, max_tokens: maxTokens, temperature: 0, return_token_ids: true },
      });
      return { code: r.statusCode, ids: r.statusCode === 200 ? r.json().choices[0].token_ids : [] };
    };
    const ref = new Map<string, number[]>();
    for (const m of models) for (const p of prompts) ref.set(`${m}|${p}`, (await ask(m, p, 10)).ids);
    const rss0 = process.memoryUsage().rss, t0 = performance.now();
    let failed = 0, mismatched = 0, requests = 0, tokens = 0;
    const lat: number[] = [];
    await Promise.all(Array.from({ length: 16 }, async (_, c) => {
      for (let i = 0; performance.now() - t0 < 2000; i++) {
        const m = models[(c + i) % models.length], p = prompts[(c * 7 + i) % prompts.length], n = 1 + ((c + i) % 10);
        const s = performance.now();
        const r = await ask(m, p, n);
        lat.push(performance.now() - s);
        requests++;
        if (r.code !== 200) { failed++; continue; }
        tokens += r.ids.length;
        if (JSON.stringify(r.ids) !== JSON.stringify(ref.get(`${m}|${p}`)!.slice(0, n))) mismatched++;
      }
    }));
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    console.log(
      `# load: ${requests} requests, ${(tokens / secs).toFixed(0)} tokens/s, ` +
        `p50 ${lat[Math.floor(lat.length / 2)].toFixed(0)} ms, p99 ${lat[Math.floor(lat.length * 0.99)].toFixed(0)} ms, ` +
        `evictions ${app.lorakit.adapters!.evictions}, ` +
        `RSS ${(rss0 / 2 ** 20).toFixed(0)} → ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
    );
    assert.equal(failed, 0);
    assert.equal(mismatched, 0);
    assert.ok(requests > 32);
    assert.ok(app.lorakit.adapters!.evictions > 0);
    assert.equal(app.lorakit.engine.batchSize + app.lorakit.engine.queueDepth, 0);
    assert.ok(app.lorakit.adapters!.list().every((e) => e.pins === 0), 'no slot stays pinned');
  } finally {
    await app.close();
  }
});

test('CLI: lorakit serve flags parse into server options', async () => {
  const cmd = await commands.serve.load();
  const root = tmp('lk-serve-cli-');
  const { flags } = parseArgs(cmd, [
    '--model', root, '--adapter', `a=${root}`, '--adapter', `b=${root}`, '--max-loras', '4', '--max-lora-rank', '16',
    '--port', '0', '--preload', '--registry',
  ]);
  assert.deepEqual(flags.adapter, [`a=${root}`, `b=${root}`]);
  assert.equal(flags.maxLoras, 4);
  assert.equal(flags.maxLoraRank, 16);
  assert.equal(flags.port, 0);
  assert.equal(flags.preload, true);
  assert.equal(flags.registry, true);
  assert.equal(flags.maxBatch, 16);
  assert.equal(flags.host, '127.0.0.1');
  assert.throws(() => parseArgs(cmd, ['--model', root, '--max-loras', '0']), (e: Error & { code?: string }) => e.code === 'LK_ARG');
});
