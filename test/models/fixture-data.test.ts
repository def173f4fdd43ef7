// The golden fixtures are self-consistent and documented: shapes agree with golden.json, the stored log-probs
// and losses follow from the stored logits under the HF label convention (logits[:, t] predicts labels[:, t+1],
// -100 ignored), the LoRA adapters are real PEFT folders with a gradient for every tensor, and the whole
// fixture tree stays small. (Engine-vs-golden checks are in golden.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors, type SafetensorsSet } from '../../src/models/safetensors.js';
import { FIXTURES, MODELS, modelDir, readGolden } from './fixture-models.js';

/** Mean CE and per-position log-probs from logits [B, T, V] under the HF shift, in float64. */
function lossFromLogits(logits: Float32Array, labels: number[][], V: number): { loss: number; lps: number[][] } {
  const B = labels.length, T = labels[0].length;
  let sum = 0, count = 0;
  const lps = labels.map(() => new Array<number>(T - 1).fill(0));
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) {
      const y = labels[b][t + 1];
      if (y === -100) continue;
      const row = logits.subarray((b * T + t) * V, (b * T + t + 1) * V);
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let z = 0;
      for (const x of row) z += Math.exp(x - max);
      lps[b][t] = row[y] - max - Math.log(z);
      sum -= lps[b][t];
      count++;
    }
  }
  return { loss: sum / count, lps };
}

const withSet = <T>(file: string, fn: (s: SafetensorsSet) => T): T => {
  const s = openSafetensors(file);
  try { return fn(s); } finally { s.close(); }
};

test('the fixture list in fixture-models.ts is every folder the generator wrote', () => {
  assert.deepEqual(readdirSync(FIXTURES).sort(), [...MODELS].sort());
});

test('golden.safetensors agrees with golden.json and its log-probs and loss follow from its logits', () => {
  for (const m of MODELS) {
    const g = readGolden(m);
    withSet(join(modelDir(m), 'golden.safetensors'), (s) => {
      const B = g.batch.input_ids.length, T = g.batch.input_ids[0].length, V = g.special_tokens.vocab_size;
      assert.deepEqual(s.tensors.get('logits')!.shape, [B, T, V]);
      assert.deepEqual(s.tensors.get('token_logprobs')!.shape, [B, T - 1]);
      assert.deepEqual(s.tensors.get('loss')!.shape, []);
      assert.deepEqual([...(s.readRaw('input_ids') as BigInt64Array)].map(Number), g.batch.input_ids.flat());
      assert.deepEqual([...(s.readRaw('labels') as BigInt64Array)].map(Number), g.batch.labels.flat());
      assert.deepEqual([...(s.readRaw('attention_mask') as BigInt64Array)].map(Number), g.batch.attention_mask.flat());
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
        assert.equal(g.batch.labels[b][t], g.batch.attention_mask[b][t] ? g.batch.input_ids[b][t] : -100);
      }
      const { loss, lps } = lossFromLogits(s.readFloat32('logits'), g.batch.labels, V);
      assert.ok(Math.abs(loss - s.readFloat32('loss')[0]) < 1e-5, `${m} loss ${loss}`);
      assert.ok(Math.abs(loss - g.batch.loss) < 1e-5);
      const stored = s.readFloat32('token_logprobs');
      lps.flat().forEach((x, i) => assert.ok(Math.abs(x - stored[i]) < 1e-4, `${m} logprob ${i}`));
      assert.equal(g.batch.labels.flat().filter((y, i) => i % T !== 0 && y !== -100).length, g.batch.tokens_in_loss);
    });
    assert.equal(g.greedy.runs.length, 2);
    for (const r of g.greedy.runs) {
      assert.equal(r.new_ids.length, 8);
      assert.ok(r.new_ids.every((id) => id >= 0 && id < g.special_tokens.vocab_size));
      assert.ok(Math.min(...r.top1_minus_top2) > 1e-3, `${m}: greedy margins too thin for an f32 engine to reproduce`);
    }
    assert.equal((g.tolerances.logits as { rtol: number }).rtol, 1e-4);
  }
});

test('LoRA fixtures are real PEFT folders with a loss, logits and one gradient per adapter tensor', () => {
  const expect: Record<string, { targets: string[]; shapes: Record<string, number[]> }> = {
    'llama-gqa-f32': {
      targets: ['q_proj', 'v_proj'],
      shapes: {
        'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': [4, 64],
        'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': [64, 4],
        'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight': [32, 4],
      },
    },
    'gpt2-f32': {
      targets: ['c_attn'],
      shapes: {
        'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight': [4, 64],
        'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight': [192, 4],
      },
    },
  };
  for (const [m, e] of Object.entries(expect)) {
    const g = readGolden(m);
    const cfg = JSON.parse(readFileSync(join(modelDir(m), 'lora', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(cfg.peft_type, 'LORA');
    assert.deepEqual(cfg.target_modules, e.targets);
    assert.equal(cfg.r, 4);
    assert.equal(cfg.lora_alpha, 8);
    assert.equal(cfg.fan_in_fan_out, m === 'gpt2-f32');
    const keys = withSet(join(modelDir(m), 'lora', 'adapter_model.safetensors'), (s) => {
      for (const [k, shape] of Object.entries(e.shapes)) assert.deepEqual(s.tensors.get(k)?.shape, shape, k);
      return new Map([...s.tensors.values()].map((t) => [t.name, t.shape]));
    });
    assert.deepEqual([...keys.keys()].sort(), g.lora!.keys);
    assert.equal(keys.size, 2 * 2 * e.targets.length);
    withSet(join(modelDir(m), 'lora_golden.safetensors'), (s) => {
      for (const [k, shape] of keys) {
        assert.deepEqual(s.tensors.get(`${k}.grad`)?.shape, shape, k);
        assert.ok(s.readFloat32(`${k}.grad`).some((x) => Math.abs(x) > 1e-6), `${k}.grad is non-trivial`);
      }
      const { loss } = lossFromLogits(s.readFloat32('logits'), g.batch.labels, g.special_tokens.vocab_size);
      assert.ok(Math.abs(loss - s.readFloat32('loss')[0]) < 1e-5);
      assert.ok(Math.abs(loss - g.lora!.loss) < 1e-5);
      assert.notEqual(Math.round(loss * 1e4), Math.round(g.batch.loss * 1e4), 'the adapter changes the loss');
    });
  }
});

test('the committed fixture tree stays under 8 MB', () => {
  const size = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((a, n) => a + size(join(p, n)), 0) : statSync(p).size);
  assert.ok(size(FIXTURES) < 8e6, `${size(FIXTURES)} bytes`);
});
