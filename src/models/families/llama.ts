// The Llama decoder (LlamaForCausalLM) and its config variants Mistral and Qwen2: one tensor layout, differing only
// in config defaults, q/k/v/o/MLP biases and the sliding window. Forward: ../llama.ts.
import { activationNames } from '../../engine/index.js';
import type { ModelConfig } from '../config.js';
import { type ConfigDefaults, type ConfigReader, type FamilyFields, type FamilySpec, type FamilyTensors, linear, tensor } from './spec.js';

const keys = {
  vocab: 'vocab_size', hidden: 'hidden_size', layers: 'num_hidden_layers', heads: 'num_attention_heads',
  kvHeads: 'num_key_value_heads', inter: 'intermediate_size', maxPos: 'max_position_embeddings', eps: 'rms_norm_eps', act: 'hidden_act',
};

function tensors(cfg: ModelConfig): FamilyTensors {
  const H = cfg.hiddenSize, I = cfg.intermediateSize, q = cfg.numHeads * cfg.headDim, kv = cfg.numKvHeads * cfg.headDim;
  return {
    before: [tensor('model.embed_tokens.weight', [cfg.vocabSize, H])],
    layer: [
      linear('self_attn.q_proj', H, q, cfg.attentionBias),
      linear('self_attn.k_proj', H, kv, cfg.attentionBias),
      linear('self_attn.v_proj', H, kv, cfg.attentionBias),
      linear('self_attn.o_proj', q, H, cfg.attentionOutBias),
      linear('mlp.gate_proj', H, I, cfg.mlpBias),
      linear('mlp.up_proj', H, I, cfg.mlpBias),
      linear('mlp.down_proj', I, H, cfg.mlpBias),
      tensor('input_layernorm.weight', [H]),
      tensor('post_attention_layernorm.weight', [H]),
    ],
    after: [tensor('model.norm.weight', [H])],
  };
}

/** The decoder every variant shares; a variant adds its architectures, defaults and field rules. */
function decoder(architectures: string[], defaults: ConfigDefaults, fields: (read: ConfigReader) => FamilyFields): FamilySpec {
  return {
    architectures, keys, defaults, fields, tensors, activations: activationNames, rotary: true,
    layerPrefix: (i) => `model.layers.${i}`, embedding: 'model.embed_tokens.weight', fanInFanOut: false,
    defaultLoraTargets: ['q_proj', 'v_proj'],
  };
}

const window = (read: ConfigReader): number | null => (read.raw.sliding_window === null ? null : read.int('sliding_window', 4096));
const common = { heads: 32, hidden: 4096, layers: 32, eps: 1e-6, act: 'silu', tie: false, theta: 10000 } as const;

export const llama = decoder(['LlamaForCausalLM'], { ...common, vocab: 32000, inter: 11008, maxPos: 2048 }, (read) => {
  const attn = read.bool('attention_bias', false);
  return { attentionBias: attn, attentionOutBias: attn, mlpBias: read.bool('mlp_bias', false), slidingWindow: null };
});

export const mistral = decoder(['MistralForCausalLM'], { ...common, vocab: 32000, kvHeads: 8, inter: 14336, maxPos: 131072 }, (read) => {
  const attn = read.bool('attention_bias', false);
  return { attentionBias: attn, attentionOutBias: attn, mlpBias: false, slidingWindow: window(read) };
});

// Qwen2: q/k/v always biased, o_proj never; the window only with use_sliding_window.
export const qwen2 = decoder(['Qwen2ForCausalLM'], { ...common, vocab: 151936, inter: 22016, maxPos: 32768 }, (read) => ({
  attentionBias: true, attentionOutBias: false, mlpBias: false,
  slidingWindow: read.bool('use_sliding_window', false) ? window(read) : null,
}));
