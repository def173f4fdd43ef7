// The linear modules of each architecture, by HF path, with their shapes: what LoRA can target and what
// 'all-linear' means (every linear layer but the output head, as PEFT defines it).
import type { LinearSpec } from './architecture.js';
import type { ModelConfig } from './config.js';

export function linearModules(cfg: ModelConfig): LinearSpec[] {
  const out: LinearSpec[] = [];
  const H = cfg.hiddenSize, I = cfg.intermediateSize, hd = cfg.headDim;
  for (let i = 0; i < cfg.numLayers; i++) {
    if (cfg.modelType === 'gpt2') {
      const p = `transformer.h.${i}`;
      out.push({ path: `${p}.attn.c_attn`, inFeatures: H, outFeatures: 3 * H, bias: true, conv1d: true });
      out.push({ path: `${p}.attn.c_proj`, inFeatures: H, outFeatures: H, bias: true, conv1d: true });
      out.push({ path: `${p}.mlp.c_fc`, inFeatures: H, outFeatures: I, bias: true, conv1d: true });
      out.push({ path: `${p}.mlp.c_proj`, inFeatures: I, outFeatures: H, bias: true, conv1d: true });
      continue;
    }
    const p = `model.layers.${i}`;
    out.push({ path: `${p}.self_attn.q_proj`, inFeatures: H, outFeatures: cfg.numHeads * hd, bias: cfg.attentionBias, conv1d: false });
    out.push({ path: `${p}.self_attn.k_proj`, inFeatures: H, outFeatures: cfg.numKvHeads * hd, bias: cfg.attentionBias, conv1d: false });
    out.push({ path: `${p}.self_attn.v_proj`, inFeatures: H, outFeatures: cfg.numKvHeads * hd, bias: cfg.attentionBias, conv1d: false });
    out.push({ path: `${p}.self_attn.o_proj`, inFeatures: cfg.numHeads * hd, outFeatures: H, bias: cfg.attentionOutBias, conv1d: false });
    out.push({ path: `${p}.mlp.gate_proj`, inFeatures: H, outFeatures: I, bias: cfg.mlpBias, conv1d: false });
    out.push({ path: `${p}.mlp.up_proj`, inFeatures: H, outFeatures: I, bias: cfg.mlpBias, conv1d: false });
    out.push({ path: `${p}.mlp.down_proj`, inFeatures: I, outFeatures: H, bias: cfg.mlpBias, conv1d: false });
  }
  return out;
}

/** PEFT's default target_modules when the user gives none (peft TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
export function defaultLoraTargets(cfg: ModelConfig): string[] {
  return cfg.modelType === 'gpt2' ? ['c_attn'] : ['q_proj', 'v_proj'];
}
