// A fresh Llama-architecture model for pretraining: the HF config.json (LlamaForCausalLM, tied embeddings,
// rope_theta 10000, rms_norm_eps 1e-5, silu) from a few sizes, and HF Llama's init (normal(0, 0.02) for linear and
// embedding weights, ones for RMSNorm weights). Also the BF16 HF folder writer. Not a training loop (pretrain.ts).
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { LorakitError } from '../errors.js';
import { expectedWeights, type ModelConfig, normalizeConfig } from '../models/config.js';
import { writeSafetensors } from '../models/safetensors-write.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { beginOutDir, type OutDirOptions } from '../util/out-dir.js';
import { Rng } from '../util/rng.js';

export interface ModelSize {
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  /** Key/value heads (GQA); defaults to `heads`. */
  readonly kvHeads?: number;
  /** MLP width; defaults to ~2.7·hidden rounded up to a multiple of 32. */
  readonly intermediate?: number;
  readonly maxPositions: number;
}

export interface SpecialIds { readonly bos: number; readonly eos: number; readonly pad?: number; readonly stop: readonly number[] }

/** config.json content of a Llama model of `size` with `vocab` ids. */
export function llamaConfigJson(size: ModelSize, vocab: number, ids: SpecialIds): Record<string, unknown> {
  const { hidden, heads } = size;
  const kvHeads = size.kvHeads ?? heads;
  if (hidden % heads !== 0 || (hidden / heads) % 2 !== 0) {
    throw new LorakitError('LK_ARG', `'--hidden' (${hidden}) must be a multiple of 2·'--heads' (${heads}) so that head_dim is an even integer`);
  }
  if (heads % kvHeads !== 0) throw new LorakitError('LK_ARG', `'--kv-heads' (${kvHeads}) must divide '--heads' (${heads})`);
  const intermediate = size.intermediate ?? Math.ceil((hidden * 8) / 3 / 32) * 32;
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama',
    vocab_size: vocab, hidden_size: hidden, intermediate_size: intermediate, num_hidden_layers: size.layers,
    num_attention_heads: heads, num_key_value_heads: kvHeads, head_dim: hidden / heads, max_position_embeddings: size.maxPositions,
    hidden_act: 'silu', rms_norm_eps: 1e-5, rope_theta: 10000, rope_scaling: null, tie_word_embeddings: true,
    attention_bias: false, attention_dropout: 0.0, mlp_bias: false, initializer_range: 0.02, pretraining_tp: 1, use_cache: true,
    bos_token_id: ids.bos, eos_token_id: ids.eos, ...(ids.pad !== undefined ? { pad_token_id: ids.pad } : {}),
    torch_dtype: 'bfloat16',
  };
}

/** Normalises `raw` and checks it is a tied-embedding Llama (the pretrainer's contract). */
export function pretrainConfig(raw: Record<string, unknown>, file: string, vocab: number): ModelConfig {
  const cfg = normalizeConfig(raw, file);
  if (cfg.modelType !== 'llama') throw new LorakitError('LK_CONFIG', `'${file}': pretraining builds model_type 'llama', got '${cfg.modelType}'`);
  if (cfg.vocabSize < vocab) {
    throw new LorakitError('LK_CONFIG', `'${file}': vocab_size ${cfg.vocabSize} is smaller than the tokenizer's ${vocab} ids`);
  }
  return cfg;
}

/** HF Llama init: normal with std 0.02 (initializer_range) for every matrix (embedding included), ones for norm weights, zeros for biases. */
export function initWeights(cfg: ModelConfig, seed: number): { names: string[]; weights: Map<string, Float32Array>; shapes: Map<string, number[]> } {
  const rng = new Rng(seed);
  const weights = new Map<string, Float32Array>(), shapes = new Map<string, number[]>();
  for (const [name, shape] of expectedWeights(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const w = new Float32Array(n);
    if (/norm\.weight$/.test(name)) w.fill(1);
    else if (!name.endsWith('.bias')) for (let i = 0; i < n; i++) w[i] = rng.normal() * 0.02;
    weights.set(name, w);
    shapes.set(name, shape);
  }
  return { names: [...weights.keys()], weights, shapes };
}

/** AdamW weight decay applies to matrices except the embedding (norms, biases and embeddings get none). */
export function decays(name: string, shape: readonly number[]): boolean {
  return shape.length === 2 && !name.includes('embed_tokens');
}

/** Writes the HF folder: config.json, BF16 model.safetensors, the tokenizer files, generation_config.json; temp folder
 *  + rename under the --out rule of util/out-dir.ts (`rule`). */
export function writeModelFolder(target: string, o: {
  config: Record<string, unknown>;
  names: readonly string[];
  weights: ReadonlyMap<string, Float32Array>;
  shapes: ReadonlyMap<string, readonly number[]>;
  tokenizerDir: string; ids: SpecialIds; maxNewTokens: number;
}, rule: OutDirOptions = { verb: 'pretrain' }): void {
  const w = beginOutDir(target, rule);
  try {
    fill(w.tmp);
  } catch (e) {
    w.abort();
    throw e;
  }
  w.commit();
  function fill(out: string): void {
  writeJsonAtomic(join(out, 'config.json'), o.config);
  writeSafetensors(
    join(out, 'model.safetensors'),
    o.names.map((n) => ({ name: n, dtype: 'BF16' as const, shape: o.shapes.get(n)!, data: o.weights.get(n)! })),
    { format: 'pt' },
  );
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(o.tokenizerDir, f), join(out, f));
  writeJsonAtomic(join(out, 'generation_config.json'), {
    bos_token_id: o.ids.bos, eos_token_id: o.ids.stop.length > 1 ? [...o.ids.stop] : o.ids.eos,
    ...(o.ids.pad !== undefined ? { pad_token_id: o.ids.pad } : {}), max_new_tokens: o.maxNewTokens,
  });
  }
}
