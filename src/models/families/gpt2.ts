// GPT-2 (GPT2LMHeadModel): learned positions, LayerNorm with bias, Conv1D projections stored (in, out) with bias,
// one fused c_attn for q, k, v. Names carry the 'transformer.' prefix. Forward: ../gpt2.ts.
import { activationNames } from '../../engine/index.js';
import type { ModelConfig } from '../config.js';
import { type FamilySpec, type FamilyTensors, type TensorEntry, linear, tensor } from './spec.js';

const norm = (name: string, H: number): TensorEntry[] => [tensor(`${name}.weight`, [H]), tensor(`${name}.bias`, [H])];

function tensors(cfg: ModelConfig): FamilyTensors {
  const H = cfg.hiddenSize, I = cfg.intermediateSize;
  return {
    before: [tensor('transformer.wte.weight', [cfg.vocabSize, H]), tensor('transformer.wpe.weight', [cfg.maxPositionEmbeddings, H])],
    layer: [
      ...norm('ln_1', H),
      linear('attn.c_attn', H, 3 * H, true),
      linear('attn.c_proj', H, H, true),
      ...norm('ln_2', H),
      linear('mlp.c_fc', H, I, true),
      linear('mlp.c_proj', I, H, true),
    ],
    after: norm('transformer.ln_f', H),
  };
}

export const gpt2: FamilySpec = {
  architectures: ['GPT2LMHeadModel'],
  keys: {
    vocab: 'vocab_size', hidden: 'n_embd', layers: 'n_layer', heads: 'n_head', inter: 'n_inner', maxPos: 'n_positions',
    eps: 'layer_norm_epsilon', act: 'activation_function',
  },
  defaults: {
    vocab: 50257,
    hidden: 768,
    layers: 12,
    heads: 12,
    inter: (hidden) => 4 * hidden,
    maxPos: 1024,
    eps: 1e-5,
    act: 'gelu_new',
    tie: true,
    theta: 10000,
  },
  activations: activationNames,
  rotary: false,
  fields(read) {
    // Attention variants the forward does not implement are refused here, not at graph build.
    if (read.raw.scale_attn_by_inverse_layer_idx === true) read.bad('scale_attn_by_inverse_layer_idx', 'false (not supported)', true);
    if (read.raw.scale_attn_weights === false) read.bad('scale_attn_weights', 'true (not supported otherwise)', false);
    return { attentionBias: true, attentionOutBias: true, mlpBias: true, slidingWindow: null };
  },
  tensors,
  layerPrefix: (i) => `transformer.h.${i}`,
  embedding: 'transformer.wte.weight',
  fanInFanOut: true,
  defaultLoraTargets: ['c_attn'],
  optionalPrefix: 'transformer.',
};
