// One training configuration in its own process (so peak RSS is its own): `tsx bench/train-child.ts qv|all [ckpt]`.
// LoRA r=16 on the Llama-shaped 29.5M reference model, batch 4 × seq 256, AdamW (ckpt: gradient checkpointing); prints
// one JSON line with the median step after a warm-up step.
import { bindAdapter } from '../src/lora/adapter.js';
import { parseLoraConfig } from '../src/lora/config.js';
import { initLoraTensors } from '../src/lora/init.js';
import { resolveSites } from '../src/lora/targets.js';
import { linearModules } from '../src/models/modules.js';
import { adamwStep, createAdamWState, defaultAdamW } from '../src/train/adamw.js';
import { makeTrainBatch } from '../src/train/batches.js';
import { TrainStep } from '../src/train/step.js';
import { referenceModel } from './reference-model.js';

const which = process.argv[2] === 'all' ? 'all-linear' : ['q_proj', 'v_proj'];
const lm = referenceModel();
const cfg = parseLoraConfig({ r: 16, lora_alpha: 32, target_modules: which }, 'bench', ['q_proj', 'v_proj']);
const sites = resolveSites(cfg, linearModules(lm.config));
const tensors = initLoraTensors(sites, true, 0);
const names = [...tensors.keys()].sort();
const params = names.map((n) => tensors.get(n)!.data);
const grads = params.map((p) => new Float32Array(p.length));
const adam = createAdamWState(params);
const adapter = bindAdapter({ config: cfg, sites, tensors });
const checkpointing = process.argv[3] === 'ckpt';
const step = await TrainStep.create(lm, adapter, names, { packed: false, checkpointing });
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
