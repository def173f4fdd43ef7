// One LoRA training configuration on a Llama-3.2-1B-shaped model with random weights (hidden 2048, 32/8 heads,
// head_dim 64, intermediate 8192, vocab 128256, tied), built in memory, in its own process so peak RSS is its own:
//   tsx bench/scale-train-child.ts <layers> <batch> <seq> [ckpt]
// LoRA r=16 on q,v; prints one JSON line (tokens/s, peak RSS, weight bytes).
import { CausalLM } from '../src/models/causal-lm.js';
import { expectedWeights, normalizeConfig } from '../src/models/config.js';
import { makeTrainBatch } from '../src/train/batches.js';
import { benchLoraStep } from './lora-step.js';

const [layers, B, T] = [2, 3, 4].map((i, k) => Number(process.argv[i] ?? [2, 2, 256][k]));
const checkpointing = process.argv[5] === 'ckpt';
const cfg = normalizeConfig({
  model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 128256, hidden_size: 2048, num_hidden_layers: layers,
  num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, intermediate_size: 8192, max_position_embeddings: 2048,
  rms_norm_eps: 1e-5, hidden_act: 'silu', tie_word_embeddings: true,
} as never);
const shapes = expectedWeights(cfg);
const weights = new Map<string, Float32Array>();
let bytes = 0, seed = 12345;
for (const [n, s] of shapes) {
  const w = new Float32Array(s.reduce((a, b) => a * b, 1));
  if (/norm/.test(n)) w.fill(1);
  else for (let i = 0; i < w.length; i++) { seed = (seed * 1103515245 + 12345) >>> 0; w[i] = ((seed >>> 8) / 16777216 - 0.5) * 0.04; }
  weights.set(n, w);
  bytes += w.byteLength;
}
const lm = new CausalLM(cfg, weights, shapes);
const rssBefore = process.memoryUsage().rss;
const { adapter, step, grads } = await benchLoraStep(lm, ['q_proj', 'v_proj'], { checkpointing });
for (const [k, t] of adapter.tensors) if (/lora_B/.test(k)) t.data.fill(0.01); // non-zero B, so dA is not trivially 0
const batch = makeTrainBatch(
  Array.from({ length: B }, (_, b) => ({
    ids: Array.from({ length: T }, (_, t) => (t * 131 + b * 17) % 128000),
    target: new Array<boolean>(T).fill(true),
  })),
  0,
  false,
);
const times: number[] = [];
const steps = Number(process.env.STEPS ?? 3);
for (let s = 0; s < steps; s++) {
  const t0 = performance.now();
  await step.run(batch, adapter, grads);
  times.push(performance.now() - t0);
}
const timed = (times.length > 1 ? times.slice(1) : times).sort((a, b) => a - b);
const med = timed[Math.floor(timed.length / 2)]; // median of the steps after the first
process.stdout.write(JSON.stringify({
  layers, batch: B, seq: T, checkpointing, weights_mb: Math.round(bytes / 2 ** 20), rss_before_step_mb: Math.round(rssBefore / 2 ** 20),
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), tokens_per_s: Math.round((B * T) / (med / 1000)), step_ms: Math.round(med),
  grad_checksum: grads.reduce((p, g) => p + g.reduce((a, b) => a + Math.abs(b), 0), 0),
}) + '\n');
