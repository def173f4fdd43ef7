// config.json normalisation (one table per family), expected weights per architecture, and LK_CONFIG errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectedParameterCount, expectedWeights, loadConfig, normalizeConfig, type ModelConfig } from '../../src/models/config.js';
import { loadGenerationConfig } from '../../src/models/generation-config.js';
import { countParameters, listTensors } from '../../src/models/safetensors.js';
import { expectError, MODELS, modelDir, tmp } from './fixture-models.js';

const pick = (c: ModelConfig): Partial<ModelConfig> => {
  const { file: _f, raw: _r, ...rest } = c;
  return rest;
};

test('every fixture config normalises to the expected fields', () => {
  const common = { vocabSize: 361, hiddenSize: 64, numLayers: 2, numHeads: 4, headDim: 16 };
  const expect: Record<string, Partial<ModelConfig>> = {
    'llama-gqa-f32': {
      ...common,
      modelType: 'llama',
      architectures: ['LlamaForCausalLM'],
      numKvHeads: 2,
      intermediateSize: 128,
      maxPositionEmbeddings: 128,
      ropeTheta: 10000,
      ropeScaling: null,
      normEps: 1e-5,
      hiddenAct: 'silu',
      tieWordEmbeddings: false,
      attentionBias: false,
      attentionOutBias: false,
      mlpBias: false,
      slidingWindow: null,
      bosTokenId: 357,
      eosTokenIds: [358],
      torchDtype: 'float32',
    },
    'llama-tied-bf16': {
      ...common,
      modelType: 'llama',
      numKvHeads: 4,
      ropeTheta: 500000,
      ropeScaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 32,
      },
      normEps: 1e-6,
      tieWordEmbeddings: true,
      padTokenId: 356,
      torchDtype: 'bfloat16',
    },
    'qwen2-bias-f32': {
      ...common,
      modelType: 'qwen2',
      numKvHeads: 2,
      ropeTheta: 1e6,
      ropeScaling: { type: 'linear', factor: 2 },
      attentionBias: true,
      attentionOutBias: false,
      mlpBias: false,
      slidingWindow: null,
      eosTokenIds: [360],
    },
    'mistral-f32': { ...common, modelType: 'mistral', numKvHeads: 2, slidingWindow: 4096, attentionBias: false, tieWordEmbeddings: false },
    'llama-bias-f32': {
      ...common,
      modelType: 'llama',
      numKvHeads: 2,
      headDim: 32,
      intermediateSize: 96,
      attentionBias: true,
      attentionOutBias: true,
      mlpBias: true,
    },
    'gpt2-f32': {
      ...common,
      modelType: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      numKvHeads: 4,
      intermediateSize: 256,
      maxPositionEmbeddings: 64,
      normEps: 1e-5,
      hiddenAct: 'gelu_new',
      tieWordEmbeddings: true,
      attentionBias: true,
      attentionOutBias: true,
      mlpBias: true,
      ropeScaling: null,
      slidingWindow: null,
      eosTokenIds: [356],
    },
  };
  for (const m of MODELS) {
    const c = loadConfig(modelDir(m));
    assert.equal(c.file, join(modelDir(m), 'config.json'));
    const got = pick(c) as Record<string, unknown>;
    for (const [k, v] of Object.entries(expect[m])) assert.deepEqual(got[k], v, `${m}.${k}`);
  }
});

test('defaults follow transformers when a field is absent', () => {
  const l = normalizeConfig({
    model_type: 'llama',
    hidden_size: 64,
    num_attention_heads: 4,
    intermediate_size: 8,
    num_hidden_layers: 1,
    vocab_size: 10,
  });
  assert.equal(l.numKvHeads, 4); // num_key_value_heads defaults to num_attention_heads
  assert.equal(l.ropeTheta, 10000);
  assert.equal(l.normEps, 1e-6);
  assert.equal(l.tieWordEmbeddings, false);
  const g = normalizeConfig({ model_type: 'gpt2', n_embd: 32, n_head: 4, n_layer: 1, vocab_size: 10, n_inner: null });
  assert.equal(g.intermediateSize, 128); // n_inner null → 4 * n_embd
  assert.equal(g.tieWordEmbeddings, true);
  assert.equal(g.hiddenAct, 'gelu_new');
  const q = normalizeConfig({
    model_type: 'qwen2',
    hidden_size: 64,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    use_sliding_window: true,
    sliding_window: 32,
  });
  assert.equal(q.slidingWindow, 32);
  const m = normalizeConfig({ model_type: 'mistral', hidden_size: 64, num_attention_heads: 16, sliding_window: null });
  assert.equal(m.slidingWindow, null);
  assert.equal(m.numKvHeads, 8); // MistralConfig's default
  const v5 = normalizeConfig({
    model_type: 'llama',
    hidden_size: 64,
    num_attention_heads: 4,
    rope_parameters: { rope_type: 'linear', factor: 4, rope_theta: 1234 },
  });
  assert.equal(v5.ropeTheta, 1234);
  assert.deepEqual(v5.ropeScaling, { type: 'linear', factor: 4 });
  const inferred = normalizeConfig({ architectures: ['Qwen2ForCausalLM'], hidden_size: 64, num_attention_heads: 4 });
  assert.equal(inferred.modelType, 'qwen2');
});

test('unknown model_type or architecture is LK_CONFIG naming the file and listing what is supported', async () => {
  const d = tmp();
  writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'falcon', architectures: ['FalconForCausalLM'] }));
  await expectError(() => loadConfig(d), 'LK_CONFIG', [join(d, 'config.json'), 'falcon', 'llama', 'mistral', 'qwen2', 'gpt2', 'GPT2LMHeadModel']);
  writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'llama', architectures: ['LlamaForSequenceClassification'] }));
  await expectError(() => loadConfig(d), 'LK_CONFIG', ['LlamaForSequenceClassification', 'LlamaForCausalLM']);
  await expectError(() => loadConfig(join(d, 'missing')), 'LK_CONFIG', ['missing']);
  writeFileSync(join(d, 'config.json'), '{ not json');
  await expectError(() => loadConfig(d), 'LK_CONFIG', ['config.json', 'JSON']);
});

test('invalid fields are LK_CONFIG naming the field, expected vs actual', async () => {
  const base = { model_type: 'llama', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2 };
  const cases: [Record<string, unknown>, string[]][] = [
    [{ num_attention_heads: '4' }, ["'num_attention_heads'", 'integer', '"4"']],
    [{ num_key_value_heads: 3 }, ["'num_key_value_heads'", 'divisor', '3']],
    [{ hidden_size: 66 }, ["'hidden_size'", 'multiple']],
    [{ rms_norm_eps: -1 }, ["'rms_norm_eps'", 'positive']],
    [{ hidden_act: 'swiglu2' }, ["'hidden_act'", 'swiglu2']],
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, ["'rope_scaling.rope_type'", 'yarn']],
    [{ rope_scaling: { rope_type: 'llama3', factor: 8 } }, ["'rope_scaling.low_freq_factor'"]],
    [{ tie_word_embeddings: 'yes' }, ["'tie_word_embeddings'"]],
  ];
  for (const [patch, mentions] of cases) {
    await expectError(() => normalizeConfig({ ...base, ...patch }, 'x/config.json'), 'LK_CONFIG', ['x/config.json', ...mentions]);
  }
  await expectError(
    () => normalizeConfig({ model_type: 'gpt2', n_embd: 64, n_head: 4, scale_attn_by_inverse_layer_idx: true }),
    'LK_CONFIG',
    ['scale_attn_by_inverse_layer_idx'],
  );
});

test('expectedWeights: HF names and shapes per architecture; matches the fixture files exactly', () => {
  for (const m of MODELS) {
    const cfg = loadConfig(modelDir(m));
    const exp = expectedWeights(cfg);
    const onDisk = new Map(listTensors(modelDir(m)).map((t) => [cfg.modelType === 'gpt2' ? `transformer.${t.name}` : t.name, [...t.shape]]));
    for (const [name, shape] of exp) assert.deepEqual(onDisk.get(name), shape, `${m}: ${name}`);
    const extra = [...onDisk.keys()].filter((n) => !exp.has(n));
    assert.deepEqual(extra, cfg.modelType === 'gpt2' ? ['transformer.h.0.attn.bias', 'transformer.h.1.attn.bias'] : [], m);
    if (cfg.modelType !== 'gpt2') assert.equal(expectedParameterCount(cfg), countParameters(modelDir(m)), m);
  }
  const llama = expectedWeights(loadConfig(modelDir('llama-gqa-f32')));
  assert.equal(llama.size, 1 + 2 * 9 + 1 + 1);
  assert.deepEqual(llama.get('model.layers.1.self_attn.k_proj.weight'), [32, 64]);
  assert.deepEqual(llama.get('lm_head.weight'), [361, 64]);
  const tied = expectedWeights(loadConfig(modelDir('llama-tied-bf16')));
  assert.equal(tied.has('lm_head.weight'), false);
  const qwen = expectedWeights(loadConfig(modelDir('qwen2-bias-f32')));
  assert.deepEqual(qwen.get('model.layers.0.self_attn.v_proj.bias'), [32]);
  assert.equal(qwen.has('model.layers.0.self_attn.o_proj.bias'), false);
  const gpt2 = expectedWeights(loadConfig(modelDir('gpt2-f32')));
  assert.deepEqual(gpt2.get('transformer.h.0.attn.c_attn.weight'), [64, 192]); // Conv1D (in, out)
  assert.deepEqual(gpt2.get('transformer.h.0.mlp.c_proj.weight'), [256, 64]);
  assert.equal(gpt2.size, 2 + 2 * 12 + 2);
  const biased = expectedWeights(loadConfig(modelDir('llama-bias-f32')));
  assert.deepEqual(biased.get('model.layers.0.self_attn.q_proj.weight'), [128, 64]); // head_dim 32 ≠ hidden / heads
  assert.deepEqual(biased.get('model.layers.0.self_attn.o_proj.weight'), [64, 128]);
  assert.deepEqual(biased.get('model.layers.0.self_attn.o_proj.bias'), [64]);
  assert.deepEqual(biased.get('model.layers.0.mlp.down_proj.bias'), [64]);
  assert.deepEqual(biased.get('model.layers.1.mlp.gate_proj.bias'), [96]);
});

test('generation_config.json: eos as int or list; absent file is empty', () => {
  assert.deepEqual(loadGenerationConfig(modelDir('llama-gqa-f32')).eosTokenIds, [358, 356]);
  assert.deepEqual(loadGenerationConfig(modelDir('mistral-f32')).eosTokenIds, [358]);
  assert.deepEqual(loadGenerationConfig(tmp()).eosTokenIds, []);
});
