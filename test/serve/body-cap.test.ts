// Huge prompts (issue 13): an 8 MB prompt used to be tokenized whole before the context check, blocking /health
// and every client for 15 s. Now the body is capped by bytes before tokenizing (fastify bodyLimit, then
// prompt bytes ≤ max prompt tokens × max bytes per token of the tokenizer), and prompts that pass the byte cap
// but are large are tokenized off the event loop. Real port + fetch, so /health is timed as a client sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createServer, type LorakitServer } from '../../src/serve/server.js';
import { makeFixture, tmp } from './helpers.js';

/**
 * Polls GET /health every 10 ms until stopped; returns the longest time between two answers (ms), poll interval
 * included. The server runs in this process, so a blocked event loop shows up as a long gap even when no poll
 * was in flight while it was blocked. Thresholds are loose (this runs on 2 shared cores): before the fix the
 * gap was the whole tokenization (44 s for an 8 MB prompt, 3.8 s for 600 kB, on this machine).
 */
async function pollHealth(base: string): Promise<{ stop: () => Promise<{ maxGap: number; polls: number }> }> {
  await (await fetch(`${base}/health`)).arrayBuffer(); // the first fetch loads undici: not the server's time
  const done: number[] = [performance.now()];
  let on = true;
  const loop = (async () => {
    while (on) {
      const r = await fetch(`${base}/health`);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      done.push(performance.now());
      await new Promise((res) => setTimeout(res, 10));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return { maxGap: Math.max(...done.slice(1).map((t, i) => t - done[i])), polls: done.length - 1 };
    },
  };
}

interface Posted { status: number; json: { error?: { code: string | null; param: string | null; message: string } }; ms: number }
async function timedPost(base: string, body: unknown): Promise<Posted> {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  let json = {};
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, ms: performance.now() - t0 };
}

/** POSTs a prebuilt body; resolves at the response (status, ms), as a client that stops sending on an early 413. */
function postRaw(url: string, body: Buffer): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 });
      res.resume();
      req.destroy();
    });
    req.on('error', (e) => { if (!req.destroyed) reject(e); });
    req.end(body);
  });
}

async function withServer(app: LorakitServer, fn: (base: string) => Promise<void>): Promise<void> {
  try { await fn(await app.listen({ port: 0, host: '127.0.0.1' })); } finally { await app.close(); }
}

test('an 8 MB prompt is refused at once with a 4xx while /health keeps answering', async (t) => {
  const fx = await makeFixture(tmp('lk-serve-cap-'), []);
  const app = await createServer({ model: fx.base, servedModelName: 'tiny' });
  await withServer(app, async (base) => {
    const body = Buffer.from(JSON.stringify({ model: 'tiny', prompt: 'a'.repeat(8_000_000), max_tokens: 1 })); // built before timing
    const h = await pollHealth(base);
    await new Promise((r) => setTimeout(r, 50));
    const big = await postRaw(`${base}/v1/completions`, body);
    const lat = await h.stop();
    t.diagnostic(`8 MB prompt: HTTP ${big.status} after ${big.ms.toFixed(0)} ms; /health gap ≤ ${lat.maxGap.toFixed(0)} ms (${lat.polls} polls)`);
    assert.ok(big.status >= 400 && big.status < 500, `status ${big.status}`);
    assert.ok(big.ms < 3000, `refused after ${big.ms.toFixed(0)} ms`);
    assert.ok(lat.maxGap < 1500, `/health went unanswered for ${lat.maxGap.toFixed(0)} ms`);
    // Under the body limit but over the byte cap (255 tokens × 13 bytes): 400 before tokenizing, naming the field.
    const mid = await timedPost(base, { model: 'tiny', prompt: 'b'.repeat(200_000), max_tokens: 1 });
    t.diagnostic(`200 kB prompt: HTTP ${mid.status} after ${mid.ms.toFixed(0)} ms`);
    assert.equal(mid.status, 400);
    assert.equal(mid.json.error?.param, 'prompt');
    assert.equal(mid.json.error?.code, 'context_length_exceeded');
    const chat = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'c'.repeat(200_000) }], max_tokens: 1 }) });
    const cj = await chat.json() as { error: { param: string; code: string } };
    assert.equal(chat.status, 400);
    assert.deepEqual([cj.error.param, cj.error.code], ['messages', 'context_length_exceeded']);
    assert.equal((await timedPost(base, { model: 'tiny', prompt: 'hello', max_tokens: 2 })).status, 200, 'normal prompts still work');
  });
});

test('a large prompt that passes the byte cap is tokenized off the event loop; worker tokenization equals inline', async (t) => {
  const fx = await makeFixture(tmp('lk-serve-cap2-'), []);
  const cfgFile = join(fx.base, 'config.json');
  // A long context (rotary positions need no weights) so that a 150 kB prompt passes the byte cap of
  // 100,000 tokens × 13 bytes and only its token count (150,000) refuses it.
  writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), max_position_embeddings: 1 << 17 }));
  const app = await createServer({ model: fx.base, servedModelName: 'tiny', maxPromptTokens: 100_000 });
  await withServer(app, async (base) => {
    const h = await pollHealth(base);
    await new Promise((r) => setTimeout(r, 50));
    const big = await timedPost(base, { model: 'tiny', prompt: 'the quick brown fox '.repeat(7_500), max_tokens: 1 });
    const lat = await h.stop();
    t.diagnostic(`150 kB prompt (tokenized): HTTP ${big.status} after ${big.ms.toFixed(0)} ms; longest /health gap ${lat.maxGap.toFixed(0)} ms`);
    assert.equal(big.status, 400);
    assert.equal(big.json.error?.code, 'context_length_exceeded');
    const gap = `/health unanswered for ${lat.maxGap.toFixed(0)} ms of the ${big.ms.toFixed(0)} ms tokenization`;
    assert.ok(lat.maxGap < 1500 && lat.maxGap < big.ms / 2, gap);
  });
  // Every prompt through the worker (threshold 0): the same token ids as the tokenizer inline.
  const w = await createServer({ model: fx.base, servedModelName: 'tiny', tokenizeInlineMaxBytes: 0 });
  try {
    const tok = w.lorakit.checkpoint.tokenizer!;
    const prompt = 'Héllo <|endoftext|> wörld 🙂';
    const opts = { model: 'tiny', max_tokens: 2, temperature: 0, return_token_ids: true };
    const r = await w.inject({ method: 'POST', url: '/v1/completions', payload: { ...opts, prompt } });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().choices[0].prompt_token_ids, tok.encode(prompt));
    const c = await w.inject({ method: 'POST', url: '/v1/chat/completions', payload: { ...opts, messages: [{ role: 'user', content: prompt }] } });
    assert.equal(c.statusCode, 200, c.body);
    const rendered = tok.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true });
    assert.deepEqual(c.json().choices[0].prompt_token_ids, tok.encode(rendered, { addSpecialTokens: false }));
  } finally {
    await w.close();
  }
});
