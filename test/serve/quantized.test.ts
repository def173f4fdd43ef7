// Serving on a quantized base (int4, MatMulNBits): a batch that mixes the base and two adapters in one decode step
// returns, for every request, exactly the tokens that request gets alone, and what generate() gives on the same
// quantized base; the quantized server differs from the float one (so the quantized path really ran).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type LorakitServer } from '../../src/serve/server.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { generate } from '../../src/models/generate.js';
import { loadAdapterFor } from '../../src/lora/load.js';
import type { StepInfo } from '../../src/serve/engine.js';
import { makeFixture, tmp } from './helpers.js';

const fx = await makeFixture(tmp('lk-serve-quant-'), [{ name: 'a', r: 4, seed: 21 }, { name: 'b', r: 8, seed: 22, targets: 'all-linear' }]);
const prompts = ['Hello there', 'The jury said it', 'Once upon a time'];
const MAX = 10;

async function complete(app: LorakitServer, model: string, prompt: string): Promise<number[]> {
  const r = await app.inject({
    method: 'POST',
    url: '/v1/completions',
    payload: { model, prompt, max_tokens: MAX, temperature: 0, return_token_ids: true },
  });
  assert.equal(r.statusCode, 200, r.body);
  return r.json().choices[0].token_ids;
}

test('int4 base: mixed-adapter batches equal each request alone and generate() on the same quantized base', async () => {
  // The fixture adapters were made on the float base: serving them on int4 warns about the precision change.
  const warnings: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => { warnings.push(String(chunk)); return true; }) as typeof process.stderr.write;
  let app: LorakitServer;
  try {
    app = await createServer({ model: fx.base, adapters: fx.adapters, servedModelName: 'tiny', quantize: { quantize: 'int4', block: 16 } });
  } finally {
    process.stderr.write = write;
  }
  for (const name of ['a', 'b']) {
    assert.ok(
      warnings.some((w) =>
        w.includes(`${name}': trained on a full-precision base, running on an int4-b16-sym-acc8 base`),
      ),
      `no precision warning for '${name}' in: ${warnings.join('')}`,
    );
  }
  const float = await createServer({ model: fx.base, adapters: fx.adapters, servedModelName: 'tiny' });
  try {
    assert.equal(app.lorakit.checkpoint.quantization, 'int4-b16-sym-acc8');
    const models = ['tiny', 'a', 'b'];
    const alone = new Map<string, number[]>();
    for (const m of models) for (const p of prompts) alone.set(`${m}|${p}`, await complete(app, m, p));
    const pairs = models.flatMap((m) => prompts.map((p) => [m, p] as const));
    const steps: StepInfo[] = [];
    const off = app.lorakit.engine.onStep((s) => { if (s.kind === 'decode') steps.push(s); });
    const together = await Promise.all(pairs.map(([m, p]) => complete(app, m, p)));
    off();
    pairs.forEach(([m, p], i) => assert.deepEqual(together[i], alone.get(`${m}|${p}`), `${m} / ${p}`));
    assert.ok(steps.some((s) => new Set(s.models).size === 3), 'one decode step ran the base and both adapters together');

    const ck = app.lorakit.checkpoint, tok = ck.tokenizer!;
    const lm = new CausalLM(ck.config, ck.weights, ck.shapes, { quant: ck.quant });
    for (const m of ['a', 'b']) {
      const adapter = (await loadAdapterFor(ck, fx.adapters[m])).binding;
      for (const p of prompts) {
        const r = await generate(lm, [tok.encode(p)], { maxNewTokens: MAX, eosTokenIds: [256], adapter });
        assert.deepEqual(r.tokens[0], alone.get(`${m}|${p}`), `generate() vs server for ${m} / ${p}`);
      }
    }
    let differs = 0;
    for (const m of models) {
      for (const p of prompts)
        if (JSON.stringify(await complete(float, m, p)) !== JSON.stringify(alone.get(`${m}|${p}`))) differs++;
    }
    assert.ok(differs > 0, 'the int4 server answered exactly like the float one: the quantized path did not run');
  } finally {
    await app.close();
    await float.close();
  }
});
