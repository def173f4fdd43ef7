// Readiness and graceful drain: GET /ready is 200 while serving; on drain (what SIGTERM does) it turns 503, new
// generation requests get 503 with retry-after, the stream already in flight runs to [DONE], then the server
// closes. The real CLI does the same on SIGTERM and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from '../../src/serve/server.js';
import { makeFixture, tmp } from './helpers.js';
import { CLI } from '../helpers/cli.js';

const fx = await makeFixture(tmp('lk-serve-drain-'), [{ name: 'support', r: 4, seed: 21 }]);

async function streamAll(url: string, body: unknown, onFirst: () => void): Promise<string> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  let text = '', first = true;
  const dec = new TextDecoder();
  const reader = r.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += dec.decode(value);
    if (first) { first = false; onFirst(); }
  }
  return text;
}

test('drain: /ready turns 503, new work is refused, the stream in flight completes, then the server closes', async () => {
  const app = await createServer({ model: fx.base, adapters: fx.adapters, servedModelName: 'tiny' });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  assert.equal((await fetch(`${address}/ready`)).status, 200);
  let draining: Promise<boolean> | undefined;
  const text = await streamAll(`${address}/v1/completions`,
    { model: 'support', prompt: 'The jury said', max_tokens: 120, temperature: 0, stream: true }, () => {
    draining = app.lorakit.drain(20_000);
  });
  assert.ok(draining, 'drain started while the stream was open');
  assert.match(text, /data: \[DONE\]/, 'the stream in flight ran to the end');
  assert.equal(text.includes('"error"'), false);
  assert.equal(await draining, true, 'everything in flight finished in time');
  assert.equal(app.lorakit.life.phase, 'draining');
});

test('while draining, /ready is 503 and a new completion gets 503 with retry-after', async () => {
  const app = await createServer({ model: fx.base, adapters: fx.adapters, servedModelName: 'tiny' });
  app.lorakit.life.phase = 'ready';
  app.lorakit.life.enter(); // one request "in flight", so the drain stays open while we look
  const draining = app.lorakit.drain(10_000);
  const ready = await app.inject({ url: '/ready' });
  assert.equal(ready.statusCode, 503);
  assert.deepEqual(ready.json(), { ready: false, phase: 'draining', in_flight: 1 });
  const r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { model: 'support', prompt: 'hi', max_tokens: 2 } });
  assert.equal(r.statusCode, 503);
  assert.equal(r.headers['retry-after'], '1');
  app.lorakit.life.leave();
  assert.equal(await draining, true);
});

test('lorakit serve exits 0 on SIGTERM after finishing the stream in flight', { timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [...CLI, 'serve', '--model', fx.base, '--adapter', `support=${fx.adapters.support}`, '--port', '0', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; const m = /"address": *"([^"]+)"/.exec(out); if (m) resolve(m[1]); });
    child.on('exit', () => reject(new Error(`serve exited early: ${err}`)));
  });
  const exit = new Promise<number | null>((r) => child.on('exit', r));
  const text = await streamAll(
    `${address}/v1/completions`,
    { model: 'support', prompt: 'The jury said', max_tokens: 120, temperature: 0, stream: true },
    () => child.kill('SIGTERM'),
  );
  assert.match(text, /data: \[DONE\]/);
  assert.equal(await exit, 0, err);
});
