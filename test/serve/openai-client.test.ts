// The server through the official openai npm client on a real port: models, completions and chat, streamed and
// not (streamed text = non-streamed text under greedy decoding), usage, stop, n with seed, and cancellation when
// the client goes away.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createServer } from '../../src/serve/server.js';
import { makeFixture, tmp } from './helpers.js';

const fx = await makeFixture(tmp('lk-serve-oa-'), [{ name: 'support', r: 4, seed: 21 }, { name: 'sql', r: 8, seed: 22, targets: 'all-linear' }]);
const app = await createServer({ model: fx.base, adapters: fx.adapters, servedModelName: 'tiny-llama' });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
const client = new OpenAI({ baseURL: `${address}/v1`, apiKey: 'unused', maxRetries: 0 });
after(() => app.close());

test('models.list: the base and each adapter with parent, root, residency and rank', async () => {
  const ids: string[] = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['tiny-llama', 'support', 'sql']);
  const raw = (await app.inject({ url: '/v1/models' })).json();
  const sql = raw.data.find((d: { id: string }) => d.id === 'sql');
  assert.equal(sql.parent, 'tiny-llama');
  assert.equal(sql.root, fx.adapters.sql);
  assert.equal(sql.rank, 8);
  assert.equal(sql.resident, false); // lazy: nothing read before the first request
});

test('completions: streamed text equals the non-streamed text; usage counts; per-adapter outputs differ', async () => {
  const texts: string[] = [];
  for (const model of ['tiny-llama', 'support', 'sql']) {
    const r = await client.completions.create({ model, prompt: 'The jury said', max_tokens: 10, temperature: 0 });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.usage?.prompt_tokens, 'The jury said'.length);
    assert.equal(r.usage?.completion_tokens, 10);
    assert.equal(r.choices[0].finish_reason, 'length');
    let streamed = '', finish: string | null = null;
    const s = await client.completions.create({ model, prompt: 'The jury said', max_tokens: 10, temperature: 0, stream: true });
    for await (const chunk of s) { streamed += chunk.choices[0]?.text ?? ''; finish = chunk.choices[0]?.finish_reason ?? finish; }
    assert.equal(streamed, r.choices[0].text, model);
    assert.equal(finish, 'length');
    texts.push(r.choices[0].text);
  }
  assert.equal(new Set(texts).size, 3, 'the two adapters and the base give three different continuations');
  const models = (await app.inject({ url: '/v1/models' })).json();
  assert.equal(models.data.find((d: { id: string }) => d.id === 'sql').resident, true);
  assert.ok(models.data.find((d: { id: string }) => d.id === 'sql').load_ms > 0);
});

test('chat: template applied, streaming with include_usage, same text as non-streamed', async () => {
  const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Hi!' }];
  const r = await client.chat.completions.create({ model: 'support', messages, max_tokens: 8, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  // <|system|>\nBe brief.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\n : every character one byte token
  const rendered = '<|system|>\nBe brief.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\n';
  assert.equal(r.usage?.prompt_tokens, rendered.length);
  const s = await client.chat.completions.create({
    model: 'support',
    messages,
    max_tokens: 8,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '', role = '', usage: OpenAI.CompletionUsage | undefined | null;
  for await (const c of s) {
    if (c.choices[0]?.delta.role) role = c.choices[0].delta.role;
    text += c.choices[0]?.delta.content ?? '';
    if (c.usage) usage = c.usage;
  }
  assert.equal(role, 'assistant');
  assert.equal(text, r.choices[0].message.content);
  assert.deepEqual(usage, r.usage);
});

test('sampling: n choices, a seed makes them reproducible, stop cuts the text', async () => {
  const a = await client.completions.create({ model: 'sql', prompt: 'Once', max_tokens: 12, temperature: 1, top_p: 0.9, seed: 7, n: 3 });
  const b = await client.completions.create({ model: 'sql', prompt: 'Once', max_tokens: 12, temperature: 1, top_p: 0.9, seed: 7, n: 3 });
  assert.equal(a.choices.length, 3);
  assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
  assert.deepEqual(a.choices.map((c) => c.index), [0, 1, 2]);
  assert.ok(new Set(a.choices.map((c) => c.text)).size > 1, 'different seeds per choice');
  const full = (await client.completions.create({ model: 'support', prompt: 'The', max_tokens: 12, temperature: 0 })).choices[0].text;
  const stopAt = full.slice(3, 5);
  const cut = await client.completions.create({ model: 'support', prompt: 'The', max_tokens: 12, temperature: 0, stop: [stopAt] });
  assert.equal(cut.choices[0].text, full.slice(0, full.indexOf(stopAt)));
  assert.equal(cut.choices[0].finish_reason, 'stop');
});

test('a client that disconnects mid-stream cancels its sequence', async () => {
  const steps0 = app.lorakit.engine.steps;
  const ac = new AbortController();
  const res = await fetch(`${address}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'support', prompt: 'Hello', max_tokens: 200, temperature: 0, stream: true }),
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
  await reader.read(); // first chunk arrived: the sequence is running
  ac.abort();
  const t0 = Date.now();
  while ((app.lorakit.engine.batchSize > 0 || app.lorakit.engine.queueDepth > 0) && Date.now() - t0 < 5000)
    await new Promise((r) => setTimeout(r, 10));
  assert.equal(app.lorakit.engine.batchSize, 0);
  assert.ok(app.lorakit.engine.steps - steps0 < 150, `the sequence stopped early (${app.lorakit.engine.steps - steps0} steps of 200)`);
});

test('SSE wire format: data: {...} blank-line framed, final data: [DONE]', async () => {
  const r = await app.inject({
    method: 'POST',
    url: '/v1/completions',
    payload: { model: 'tiny-llama', prompt: 'Hi', max_tokens: 3, temperature: 0, stream: true },
  });
  assert.equal(r.statusCode, 200);
  assert.match(r.headers['content-type'] as string, /^text\/event-stream/);
  const events = r.body.split('\n\n').filter(Boolean);
  assert.equal(events.at(-1), 'data: [DONE]');
  for (const e of events.slice(0, -1)) assert.equal(JSON.parse(e.replace(/^data: /, '')).object, 'text_completion');
  assert.equal(JSON.parse(events.at(-2)!.slice(6)).choices[0].finish_reason, 'length');
});
