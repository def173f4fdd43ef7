// One training configuration in its own process (so peak RSS is its own): `tsx bench/train-child.ts qv|all [ckpt]`.
// LoRA r=16 on the Llama-shaped 29.5M reference model, batch 4 × seq 256, AdamW (ckpt: gradient checkpointing); prints
// one JSON line with the median step after a warm-up step.
import { adamwStep, defaultAdamW } from '../src/train/adamw.js';
import { makeTrainBatch } from '../src/train/batches.js';
import { benchLoraStep } from './lora-step.js';
import { referenceModel } from './reference-model.js';

const which = process.argv[2] === 'all' ? 'all-linear' : ['q_proj', 'v_proj'];
const lm = referenceModel();
const checkpointing = process.argv[3] === 'ckpt';
const { adapter, step, params, grads, adam } = await benchLoraStep(lm, which, { checkpointing });
const B = 4, T = 256;
const batch = makeTrainBatch(
  Array.from({ length: B }, (_, b) => ({
    ids: Array.from({ length: T }, (_, t) => (t * 131 + b * 17) % 8192),
    target: new Array<boolean>(T).fill(true),
  })),
  0,
  false,
);
const times: number[] = [];
let optMs = 0;
for (let s = 0; s < 6; s++) {
  const t0 = performance.now();
  const r = await step.run(batch, adapter, grads);
  const t1 = performance.now();
  adamwStep(params, grads, adam, defaultAdamW, 1e-4, 1 / r.tokens);
  optMs = performance.now() - t1;
  times.push(performance.now() - t0);
}
const sorted = times.slice(1).sort((a, b) => a - b);
const med = sorted[Math.floor(sorted.length / 2)];
const trainable = params.reduce((p, x) => p + x.length, 0);
const out = { targets: process.argv[2], checkpointing, tokens_per_s: (B * T) / (med / 1000), step_ms: med, adamw_ms: optMs, trainable };
process.stdout.write(JSON.stringify({ ...out, parameters: lm.parameterCount, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }) + '\n');
