// FORMATS.md's Llama-shaped ~25M reference model (hidden 512, 8 layers, 8 heads, intermediate 1376, vocab 8192,
// tied embeddings) with random weights, built in memory for the model and training benchmarks.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CausalLM } from '../src/models/causal-lm.js';
import { expectedWeights, normalizeConfig } from '../src/models/config.js';
import { Rng } from '../src/util/rng.js';

export function referenceModel(threads?: number): CausalLM {
  const cfg = normalizeConfig({ model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 8192, hidden_size: 512, num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 8, intermediate_size: 1376, max_position_embeddings: 2048, rms_norm_eps: 1e-6, hidden_act: 'silu', tie_word_embeddings: true } as never);
  const shapes = expectedWeights(cfg);
  const rng = new Rng(0);
  const weights = new Map<string, Float32Array>();
  for (const [n, s] of shapes) {
    const size = s.reduce((a, b) => a * b, 1);
    weights.set(n, /norm/.test(n) ? new Float32Array(size).fill(1) : Float32Array.from({ length: size }, () => rng.normal() * 0.02));
  }
  return new CausalLM(cfg, weights, shapes, { threads });
}

/** Runs scripts/bench/torch_reference.py when Debian's PyTorch is installed; null otherwise. */
export function torchReference(...args: string[]): { tokens_per_s: number; peak_rss_mb: number } | null {
  if (!existsSync('/usr/bin/python3')) return null;
  const r = spawnSync('/usr/bin/python3', ['scripts/bench/torch_reference.py', ...args], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { tokens_per_s: number; peak_rss_mb: number };
  } catch {
    return null;
  }
}
