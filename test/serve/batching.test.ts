// Correctness under batching: with greedy decoding every request in a batch that mixes adapters (of different
// ranks and target sets) and the base returns exactly the tokens it returns alone, and the tokens generate()
// gives with that adapter bound the ordinary way; and the engine really mixes them in one decode step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type LorakitServer } from '../../src/serve/server.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { generate } from '../../src/models/generate.js';
import { loadAdapterFor } from '../../src/lora/load.js';
import type { StepInfo } from '../../src/serve/engine.js';
import { makeFixture, tmp } from './helpers.js';

const root = tmp('lk-serve-batch-');
const fx = await makeFixture(root, [
  { name: 'a', r: 4, seed: 11 },
  { name: 'b', r: 8, seed: 12, targets: 'all-linear' },
  { name: 'c', r: 2, seed: 13, targets: ['o_proj', 'down_proj'] },
]);
const prompts = ['Hello there', 'The jury said it', 'x', 'Once upon a time in a land'];
const MAX = 12;

interface Out { ids: number[]; text: string; finish: string }
async function complete(app: LorakitServer, model: string, prompt: string): Promise<Out> {
  const r = await app.inject({
    method: 'POST',
    url: '/v1/completions',
    payload: { model, prompt, max_tokens: MAX, temperature: 0, return_token_ids: true },
  });
  assert.equal(r.statusCode, 200, r.body);
  const b = r.json();
  assert.equal(b.usage.completion_tokens, b.choices[0].token_ids.length);
  return { ids: b.choices[0].token_ids, text: b.choices[0].text, finish: b.choices[0].finish_reason };
}

test('mixed-adapter batch: each request equals itself alone and generate() with that adapter', async () => {
  const app = await createServer({ model: fx.base, adapters: fx.adapters, maxLoras: 2, maxBatch: 16, servedModelName: 'tiny' });
  try {
    const models = ['tiny', 'a', 'b', 'c'];
    const alone = new Map<string, Out>();
    for (const m of models) for (const p of prompts) alone.set(`${m}|${p}`, await complete(app, m, p));
    // Every (model, prompt) pair at once: one batch with 3 adapters over 2 slots (so LRU swaps happen) and the base.
    const pairs = models.flatMap((m) => prompts.map((p) => [m, p] as const));
    const stepsBefore = app.lorakit.engine.steps;
    const decodeSteps: StepInfo[] = [];
    const unsubscribe = app.lorakit.engine.onStep((s) => { if (s.kind === 'decode') decodeSteps.push(s); });
    const together = await Promise.all(pairs.map(([m, p]) => complete(app, m, p)));
    unsubscribe();
    pairs.forEach(([m, p], i) => assert.deepEqual(together[i], alone.get(`${m}|${p}`), `${m} / ${JSON.stringify(p)}`));
    const stepsTogether = app.lorakit.engine.steps - stepsBefore;
    assert.ok(stepsTogether < pairs.length * MAX / 2, `batched: ${stepsTogether} decode steps for ${pairs.length} requests`);
    // The step count alone would also pass with sequential per-adapter batches (4 models × 12 steps = 48 < 96).
    // What proves mixing: one decode step whose rows (the very rows fed to that session run, with their
    // adapter_slot values) belong to at least two different adapters AND the base. A scheduler that batches per
    // adapter in turn runs every decode step with one model's rows (one slot value), so no step can qualify.
    const mixed = decodeSteps.filter((s) => {
      const names = new Set(s.models);
      return names.has('tiny') && [...names].filter((n) => n !== 'tiny').length >= 2 && new Set(s.slots).size >= 3;
    });
    const widest = decodeSteps.reduce((m, s) => Math.max(m, new Set(s.models).size), 0);
    assert.ok(mixed.length > 0, `no decode step mixed the base with 2 adapters (widest step had ${widest} models over ${decodeSteps.length} steps)`);
    for (const s of decodeSteps) assert.equal(s.models.length, s.slots.length);
    // Adapters change outputs (otherwise this test proves nothing).
    for (const m of ['a', 'b', 'c']) assert.notDeepEqual(alone.get(`${m}|${prompts[1]}`)!.ids, alone.get(`tiny|${prompts[1]}`)!.ids, m);

    // The reference: generate() with the adapter bound as usual (LoRA graph, scaling applied at run time).
    const ck = app.lorakit.checkpoint, tok = ck.tokenizer!;
    const lm = new CausalLM(ck.config, ck.weights, ck.shapes);
    for (const m of models) {
      const adapter = m === 'tiny' ? undefined : (await loadAdapterFor(ck, fx.adapters[m])).binding;
      for (const p of prompts) {
        const r = await generate(lm, [tok.encode(p)], { maxNewTokens: MAX, eosTokenIds: [256], adapter });
        assert.deepEqual(r.tokens[0], alone.get(`${m}|${p}`)!.ids, `generate() vs server for ${m} / ${p}`);
      }
    }
    const models2 = (await app.inject({ method: 'GET', url: '/v1/models' })).json();
    assert.deepEqual(models2.data.map((d: { id: string }) => d.id), ['tiny', 'a', 'b', 'c']);
    assert.ok(app.lorakit.adapters!.evictions > 0, 'with 3 adapters on 2 slots some were evicted');
  } finally {
    await app.close();
  }
});

test('GPT-2 (Conv1D, fused c_attn): mixed batch equals alone and generate()', async () => {
  const g = await makeFixture(
    tmp('lk-serve-batch-gpt2-'),
    [{ name: 'g1', r: 4, seed: 14, targets: ['c_attn'] }, { name: 'g2', r: 2, seed: 15, targets: ['c_fc', 'c_proj'] }],
    { arch: 'gpt2' },
  );
  const app = await createServer({ model: g.base, adapters: g.adapters, servedModelName: 'gpt' });
  try {
    const models = ['gpt', 'g1', 'g2'];
    const alone = new Map<string, Out>();
    for (const m of models) for (const p of prompts) alone.set(`${m}|${p}`, await complete(app, m, p));
    const pairs = models.flatMap((m) => prompts.map((p) => [m, p] as const));
    const together = await Promise.all(pairs.map(([m, p]) => complete(app, m, p)));
    pairs.forEach(([m, p], i) => assert.deepEqual(together[i], alone.get(`${m}|${p}`), `${m} / ${JSON.stringify(p)}`));
    const ck = app.lorakit.checkpoint, tok = ck.tokenizer!;
    const lm = new CausalLM(ck.config, ck.weights, ck.shapes);
    for (const m of ['g1', 'g2']) {
      const adapter = (await loadAdapterFor(ck, g.adapters[m])).binding;
      assert.notDeepEqual(alone.get(`${m}|${prompts[1]}`)!.ids, alone.get(`gpt|${prompts[1]}`)!.ids);
      for (const p of prompts) {
        assert.deepEqual(
          (await generate(lm, [tok.encode(p)], { maxNewTokens: MAX, eosTokenIds: [256], adapter })).tokens[0],
          alone.get(`${m}|${p}`)!.ids,
          `${m} / ${p}`,
        );
      }
    }
  } finally {
    await app.close();
  }
});
