// Writes small random HF model folders (config.json, model.safetensors, byte-level tokenizer.json,
// tokenizer_config.json with a chat template, generation_config.json) for tests that need a real folder fast.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectedWeights, normalizeConfig } from '../../src/models/config.js';
import { byteLevelTokenizerJson } from '../../src/models/bpe/byte-level.js';
import { writeSafetensors } from '../../src/models/safetensors-write.js';
import { Rng } from '../../src/util/rng.js';

export const CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

export interface TinyModelOptions {
  readonly arch?: 'llama' | 'gpt2';
  readonly hidden?: number;
  readonly layers?: number;
  readonly seed?: number;
  readonly dtype?: 'F32' | 'BF16';
  readonly tied?: boolean;
}

export function writeTinyModel(dir: string, o: TinyModelOptions = {}): string {
  mkdirSync(dir, { recursive: true });
  const vocab = 260; // 256 bytes + 4 specials
  const h = o.hidden ?? 32, L = o.layers ?? 2;
  const raw = o.arch === 'gpt2'
    ? {
      model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: vocab, n_embd: h, n_layer: L, n_head: 4, n_positions: 256,
      layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', bos_token_id: 256, eos_token_id: 256, tie_word_embeddings: true,
    }
    : {
      model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: vocab, hidden_size: h, num_hidden_layers: L,
      num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 2 * h, max_position_embeddings: 256, rms_norm_eps: 1e-6,
      hidden_act: 'silu', tie_word_embeddings: o.tied ?? false, rope_theta: 10000, bos_token_id: 257, eos_token_id: 256,
    };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw, null, 2));
  const cfg = normalizeConfig(raw as never);
  const rng = new Rng(o.seed ?? 1);
  const tensors = [...expectedWeights(cfg)].map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = /norm|ln_/.test(name);
    const data = Float32Array.from({ length: n }, () => (isNorm ? (name.endsWith('bias') ? 0 : 1) : rng.normal() * 0.08));
    return { name, dtype: o.dtype ?? ('F32' as const), shape, data };
  });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson([], ['<|endoftext|>', '<s>', '<pad>', '<|unused|>'])));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      eos_token: '<|endoftext|>',
      bos_token: '<s>',
      pad_token: '<pad>',
      chat_template: CHAT_TEMPLATE,
      model_max_length: 256,
    }),
  );
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 256, bos_token_id: 257 }));
  return dir;
}
