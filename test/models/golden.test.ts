// Golden numerics against PyTorch (scripts/fixtures/make_fixtures.py with Debian's python3-torch; fixtures committed):
// logits, per-token log-probs and loss within the tolerances stated in each golden.json (1e-4 relative for float32
// weights), greedy continuations token for token (with and without the KV cache), and — for the LoRA fixtures —
// logits, loss and d(loss)/d(every lora_A/lora_B) (1e-3 relative).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { CausalLM, makeScoreBatch } from '../../src/models/causal-lm.js';
import { generate, generateNoCache } from '../../src/models/generate.js';
import { openSafetensors } from '../../src/models/safetensors.js';
import { loadAdapterFor } from '../../src/lora/load.js';
import { TrainStep } from '../../src/train/step.js';

const root = 'test/fixtures/models';
const models = readdirSync(root).filter((d) => existsSync(join(root, d, 'golden.json'))).sort();

interface Golden {
  tolerances: Record<string, { rtol: number } | string>;
  batch: { input_ids: number[][]; attention_mask: number[][]; tokens_in_loss: number; pad_token_id: number };
  greedy: { new_tokens: number; runs: { prompt_ids: number[]; new_ids: number[] }[] };
}

/** golden.json's rule: max|actual − expected| ≤ rtol · max(1, max|expected|), over the compared elements. */
function assertClose(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  keep: (i: number) => boolean = () => true,
): number {
  let diff = 0, scale = 1;
  for (let i = 0; i < expected.length; i++) {
    if (!keep(i)) continue;
    scale = Math.max(scale, Math.abs(expected[i]));
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
  }
  assert.ok(diff <= rtol * scale, `${name}: max abs diff ${diff} > ${rtol} × ${scale}`);
  return diff / scale;
}

for (const name of models) {
  const dir = join(root, name);
  const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Golden;
  const tol = (k: string): number => (golden.tolerances[k] as { rtol: number }).rtol;

  test(`${name}: logits, log-probs, loss and greedy tokens match PyTorch`, async () => {
    const ck = await loadCheckpoint(dir, { tokenizer: false });
    const lm = new CausalLM(ck.config, ck.weights, ck.shapes);
    const seqs = golden.batch.input_ids.map((ids, b) => ids.filter((_, t) => golden.batch.attention_mask[b][t] === 1));
    const g = openSafetensors(join(dir, 'golden.safetensors'));
    const [B, T, V] = g.tensors.get('logits')!.shape;
    const r = await lm.scoreBatch(makeScoreBatch(seqs, golden.batch.pad_token_id), { logits: true });
    assert.deepEqual(r.dims, [B, T]);
    const mask = golden.batch.attention_mask;
    assertClose('logits', r.logits!, g.readFloat32('logits'), tol('logits'), (i) => mask[Math.floor(i / (T * V))][Math.floor(i / V) % T] === 1);
    const lp = g.readFloat32('token_logprobs'); // (B, T-1)
    const mine = new Float32Array(B * (T - 1));
    for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) mine[b * (T - 1) + t] = r.tokenLogprobs[b * T + t];
    assertClose('token_logprobs', mine, lp, tol('token_logprobs'));
    assert.equal(r.tokenCount, golden.batch.tokens_in_loss);
    assertClose('loss', [r.lossSum / r.tokenCount], g.readFloat32('loss'), tol('loss'));
    g.close();
    for (const run of golden.greedy.runs) {
      const cached = await generate(lm, [run.prompt_ids], { maxNewTokens: golden.greedy.new_tokens, eosTokenIds: [] });
      assert.deepEqual(cached.tokens[0], run.new_ids, 'greedy with the KV cache');
      assert.deepEqual(await generateNoCache(lm, run.prompt_ids, golden.greedy.new_tokens), run.new_ids, 'greedy by full recompute');
    }
    // Batched generation of prompts of different lengths gives each prompt's own tokens.
    const batched = await generate(lm, golden.greedy.runs.map((r) => r.prompt_ids), { maxNewTokens: golden.greedy.new_tokens, eosTokenIds: [] });
    assert.deepEqual(batched.tokens, golden.greedy.runs.map((r) => r.new_ids));
  });

  if (existsSync(join(dir, 'lora', 'adapter_config.json'))) {
    test(`${name}: LoRA logits, loss and every lora_A/lora_B gradient match PyTorch`, async () => {
      const ck = await loadCheckpoint(dir, { tokenizer: false });
      const lm = new CausalLM(ck.config, ck.weights, ck.shapes);
      const adapter = await loadAdapterFor(ck, join(dir, 'lora'));
      const seqs = golden.batch.input_ids.map((ids, b) => ids.filter((_, t) => golden.batch.attention_mask[b][t] === 1));
      const batch = makeScoreBatch(seqs, golden.batch.pad_token_id);
      const g = openSafetensors(join(dir, 'lora_golden.safetensors'));
      const [, T, V] = g.tensors.get('logits')!.shape;
      const r = await lm.scoreBatch(batch, { logits: true, adapter: adapter.binding });
      const mask = golden.batch.attention_mask;
      assertClose(
        'lora logits',
        r.logits!,
        g.readFloat32('logits'),
        tol('lora_logits'),
        (i) => mask[Math.floor(i / (T * V))][Math.floor(i / V) % T] === 1,
      );
      assertClose('lora loss', [r.lossSum / r.tokenCount], g.readFloat32('loss'), tol('lora_loss'));
      const names = [...adapter.tensors.keys()].sort();
      const step = await TrainStep.create(lm, adapter.binding, names, { packed: false });
      const grads = names.map((n) => new Float32Array(adapter.tensors.get(n)!.data.length));
      const sr = await step.run({ ...batch, targets: r.tokenCount }, adapter.binding, grads);
      assert.equal(sr.tokens, golden.batch.tokens_in_loss);
      names.forEach((n, i) => {
        const expected = g.readFloat32(`${n}.grad`);
        assertClose(`d loss / d ${n}`, grads[i].map((x) => x / sr.tokens), expected, tol('lora_grads'));
      });
      assert.equal(names.length, [...g.tensors.keys()].filter((k) => k.endsWith('.grad')).length, 'every golden gradient is checked');
      g.close();
    });
  }
}
