// Model benchmarks: prefill and decode throughput of the ~25M Llama-shaped reference at batch 1 and 8, against the
// memory-bandwidth bound (weight bytes per decode step / measured copy bandwidth) and PyTorch side by side.
import { generate } from '../src/models/generate.js';
import { CausalLM } from '../src/models/causal-lm.js';
import type { BenchArea, BenchTable } from './types.js';
import { referenceModel, torchReference } from './reference-model.js';

function copyBandwidthGBs(): number {
  const n = 64 << 20; // 256 MiB of float32
  const a = new Float32Array(n).fill(1), b = new Float32Array(n);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    b.set(a);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * n * 4) / (best / 1000) / 1e9; // read + write
}

export const bench: BenchArea = async () => {
  const lm = referenceModel();
  const baked = new CausalLM(lm.config, lm.weights, lm.shapes, { bakeDecodeWeights: true });
  const params = lm.parameterCount;
  const bw = copyBandwidthGBs();
  const rows: Record<string, string | number | null>[] = [];
  // Prefill: one pass over 256 tokens (batch 1) and 8 × 256.
  for (const B of [1, 8]) {
    const seqs = Array.from({ length: B }, (_, b) => Array.from({ length: 256 }, (_, t) => (t * 31 + b * 7) % 8192));
    await lm.score(seqs);
    let best = Infinity;
    for (let i = 0; i < 3; i++) { const t0 = performance.now(); await lm.score(seqs); best = Math.min(best, performance.now() - t0); }
    const ref = B === 1 ? torchReference('prefill') : null;
    rows.push({ phase: 'prefill', batch: B, tokens_per_s: (B * 256) / (best / 1000), torch_tokens_per_s: ref?.tokens_per_s ?? null, bandwidth_bound_tok_s: null, pct_of_bound: null });
  }
  // Decode: 32-token prompts, 64 new tokens, greedy, no EOS.
  const weightBytes = params * 4;
  for (const B of [1, 8]) {
    const prompts = Array.from({ length: B }, (_, b) => Array.from({ length: 32 }, (_, t) => (t * 17 + b) % 8192));
    await generate(lm, prompts, { maxNewTokens: 4, eosTokenIds: [] });
    let best = 0;
    for (let i = 0; i < 2; i++) {
      const r = await generate(lm, prompts, { maxNewTokens: 64, eosTokenIds: [] });
      best = Math.max(best, (B * r.decodeSteps) / (r.decodeMs / 1000));
    }
    const bound = (B * (bw * 1e9)) / weightBytes; // each step reads every weight once
    const ref = torchReference('decode', String(B));
    rows.push({ phase: 'decode', batch: B, tokens_per_s: best, torch_tokens_per_s: ref?.tokens_per_s ?? null, bandwidth_bound_tok_s: bound, pct_of_bound: (100 * best) / bound });
    // The same with the weights baked into the decode graph (CausalLM bakeDecodeWeights).
    let bestBaked = 0;
    await generate(baked, prompts, { maxNewTokens: 4, eosTokenIds: [] });
    for (let i = 0; i < 2; i++) {
      const r = await generate(baked, prompts, { maxNewTokens: 64, eosTokenIds: [] });
      bestBaked = Math.max(bestBaked, (B * r.decodeSteps) / (r.decodeMs / 1000));
    }
    rows.push({ phase: 'decode (weights baked)', batch: B, tokens_per_s: bestBaked, torch_tokens_per_s: null, bandwidth_bound_tok_s: bound, pct_of_bound: (100 * bestBaked) / bound });
  }
  const table: BenchTable = {
    title: `Llama-shaped ${(params / 1e6).toFixed(1)}M (hidden 512, 8 layers, vocab 8192, tied), float32; copy bandwidth ${bw.toFixed(1)} GB/s`,
    rows,
    notes: ['FORMATS.md reference on this machine kind: decode ≈ 72 tok/s at batch 1, ≈ 354 at batch 8 (PyTorch 1.13 + OpenBLAS).', 'torch_tokens_per_s: scripts/bench/torch_reference.py run now, side by side (null when PyTorch is absent).'],
  };
  return [table];
};
