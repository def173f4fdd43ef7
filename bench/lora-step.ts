// The LoRA training step the bench children time: r 16 (alpha 32) on `targets`, fresh tensors (seed 0), its
// parameters, gradient buffers and AdamW state, compiled with the given step options.
import { bindAdapter } from '../src/lora/adapter.js';
import { parseLoraConfig } from '../src/lora/config.js';
import { initLoraTensors } from '../src/lora/init.js';
import { resolveSites } from '../src/lora/targets.js';
import type { CausalLM, LinearAdapter } from '../src/models/causal-lm.js';
import { linearModules } from '../src/models/modules.js';
import { type AdamWState, createAdamWState } from '../src/train/adamw.js';
import { type QloraMode, TrainStep } from '../src/train/step.js';

export interface BenchLora {
  readonly adapter: LinearAdapter;
  readonly step: TrainStep;
  /** Adapter tensors in step order, their gradient buffers, and AdamW state over them. */
  readonly params: Float32Array[];
  readonly grads: Float32Array[];
  readonly adam: AdamWState;
}

export async function benchLoraStep(
  lm: CausalLM, targets: string[] | 'all-linear', o: { threads?: number; checkpointing?: boolean; qloraMode?: QloraMode } = {},
): Promise<BenchLora> {
  const cfg = parseLoraConfig({ r: 16, lora_alpha: 32, target_modules: targets }, 'bench', ['q_proj', 'v_proj']);
  const sites = resolveSites(cfg, linearModules(lm.config));
  const tensors = initLoraTensors(sites, true, 0);
  const names = [...tensors.keys()].sort();
  const params = names.map((n) => tensors.get(n)!.data);
  const adapter = bindAdapter({ config: cfg, sites, tensors });
  const step = await TrainStep.create(lm, adapter, names, { packed: false, ...o });
  return { adapter, step, params, grads: params.map((p) => new Float32Array(p.length)), adam: createAdamWState(params) };
}
