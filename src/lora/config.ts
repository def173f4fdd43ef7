// PEFT's LoraConfig: field names, defaults and meaning as in peft/tuners/lora/config.py, validated in one pass
// with errors that name the field (and unknown keys rejected, as nanoGPT's configurator does).
import { LorakitError } from '../errors.js';

export interface LoraConfig {
  /** Rank r of the update ΔW = B·A. */
  readonly r: number;
  /** Scaling numerator: scaling = lora_alpha / r (or / sqrt(r) with use_rslora). */
  readonly lora_alpha: number;
  /** Dropout on the LoRA branch input during training. */
  readonly lora_dropout: number;
  /** Module names (matched as name or '.name' suffix), one full-match regex string, or 'all-linear'. */
  readonly target_modules: readonly string[] | string;
  /** Rank-stabilised scaling alpha / sqrt(r) (Kalajdzievski 2023). */
  readonly use_rslora: boolean;
  /** Only adapt these layer indices (null = all). */
  readonly layers_to_transform: readonly number[] | null;
  /** Name of the layer list in module paths ('layers' for Llama, 'h' for GPT-2); null = the usual names. */
  readonly layers_pattern: string | null;
  /** Per-module rank overrides: regex key → r. */
  readonly rank_pattern: Readonly<Record<string, number>>;
  /** Per-module alpha overrides: regex key → alpha. */
  readonly alpha_pattern: Readonly<Record<string, number>>;
  /** Only 'none' is supported (biases stay frozen). */
  readonly bias: 'none';
  /** true: A Kaiming-uniform, B zero (step 0 = base); 'gaussian': A normal with std 1/r (as PEFT), B zero. */
  readonly init_lora_weights: boolean | 'gaussian';
  /** True for GPT-2's Conv1D (weights stored (in, out)); set from the base architecture. */
  readonly fan_in_fan_out: boolean;
  readonly base_model_name_or_path: string | null;
  readonly task_type: 'CAUSAL_LM';
  readonly peft_type: 'LORA';
}

export const loraConfigHelp: { readonly [K in keyof LoraConfig]: string } = {
  r: 'LoRA rank r',
  lora_alpha: 'LoRA alpha; scaling = alpha / r (alpha / sqrt(r) with use_rslora)',
  lora_dropout: 'dropout probability on the LoRA branch during training',
  target_modules: "modules to adapt: names like q_proj,v_proj (suffix match), a regex, or 'all-linear'",
  use_rslora: 'rank-stabilised scaling alpha / sqrt(r)',
  layers_to_transform: 'only adapt these layer indices',
  layers_pattern: "layer list name in module paths ('layers', 'h')",
  rank_pattern: 'per-module rank overrides {regex: r}',
  alpha_pattern: 'per-module alpha overrides {regex: alpha}',
  bias: "bias training: only 'none'",
  init_lora_weights: "true (Kaiming-uniform A, zero B) or 'gaussian'",
  fan_in_fan_out: 'weights stored (in, out) (GPT-2 Conv1D)',
  base_model_name_or_path: 'the base model this adapter was trained on',
  task_type: "PEFT task type: 'CAUSAL_LM'",
  peft_type: "PEFT type: 'LORA'",
};

export const loraDefaults: Omit<LoraConfig, 'target_modules'> = {
  r: 8, lora_alpha: 16, lora_dropout: 0, use_rslora: false, layers_to_transform: null, layers_pattern: null,
  rank_pattern: {}, alpha_pattern: {}, bias: 'none', init_lora_weights: true, fan_in_fan_out: false,
  base_model_name_or_path: null, task_type: 'CAUSAL_LM', peft_type: 'LORA',
};

// Keys PEFT writes that lorakit reads but does not act on (accepted so real adapter_config.json files load).
const passthrough = new Set([
  'inference_mode', 'revision', 'modules_to_save', 'use_dora', 'auto_mapping', 'megatron_config', 'megatron_core',
  'loftq_config', 'layer_replication', 'runtime_config', 'lora_bias', 'exclude_modules', 'eva_config', 'corda_config',
  'use_qalora', 'qalora_group_size', 'target_parameters', 'trainable_token_indices', 'layers_to_transform_pattern',
  'peft_version', 'init_lora_weights_kwargs', 'lora_ga_config', 'ensure_weight_tying', 'alora_invocation_tokens',
  'arrow_config',
]);

/** Validates and completes a (possibly partial) PEFT config; `source` names the file or flag set in errors. */
export function parseLoraConfig(raw: Readonly<Record<string, unknown>>, source: string, defaultTargets: readonly string[]): LoraConfig {
  const bad: string[] = [];
  const known = new Set<string>([...Object.keys(loraDefaults), 'target_modules']);
  for (const k of Object.keys(raw)) if (!known.has(k) && !passthrough.has(k)) bad.push(`unknown key '${k}'`);
  const c = {
    ...loraDefaults,
    target_modules: defaultTargets,
    ...Object.fromEntries(
      Object.entries(raw).filter(([k, v]) => known.has(k) && v !== undefined && !(k === 'target_modules' && v === null)),
    ),
  } as LoraConfig;
  if (raw.peft_type !== undefined && raw.peft_type !== 'LORA') bad.push(`'peft_type' must be "LORA", got ${JSON.stringify(raw.peft_type)}`);
  if (raw.use_dora === true) bad.push("'use_dora' is true: DoRA adapters are not supported");
  if (Array.isArray(raw.modules_to_save) && raw.modules_to_save.length > 0) {
    bad.push(
      `'modules_to_save' ${JSON.stringify(raw.modules_to_save)} is not supported (full copies of modules cannot be batched per request)`,
    );
  }
  if (!Number.isInteger(c.r) || c.r <= 0) bad.push(`'r' must be a positive integer, got ${JSON.stringify(c.r)}`);
  if (typeof c.lora_alpha !== 'number' || !(c.lora_alpha > 0))
    bad.push(`'lora_alpha' must be a positive number, got ${JSON.stringify(c.lora_alpha)}`);
  if (typeof c.lora_dropout !== 'number' || c.lora_dropout < 0 || c.lora_dropout >= 1)
    bad.push(`'lora_dropout' must be in [0, 1), got ${JSON.stringify(c.lora_dropout)}`);
  if (c.bias !== 'none') bad.push(`'bias' must be "none", got ${JSON.stringify(c.bias)}`);
  const targetsOk = typeof c.target_modules === 'string'
    || (Array.isArray(c.target_modules) && c.target_modules.length > 0 && c.target_modules.every((t) => typeof t === 'string'));
  if (!targetsOk) {
    bad.push(`'target_modules' must be a non-empty list of names, a regex string or "all-linear", got ${JSON.stringify(c.target_modules)}`);
  }
  const layersOk = c.layers_to_transform === null
    || (Array.isArray(c.layers_to_transform) && c.layers_to_transform.every((i) => Number.isInteger(i) && i >= 0));
  if (!layersOk) bad.push(`'layers_to_transform' must be a list of layer indices, got ${JSON.stringify(c.layers_to_transform)}`);
  if (![true, false, 'gaussian'].includes(c.init_lora_weights as never))
    bad.push(`'init_lora_weights' must be true, false or "gaussian", got ${JSON.stringify(c.init_lora_weights)}`);
  for (const [name, pat] of [['rank_pattern', c.rank_pattern], ['alpha_pattern', c.alpha_pattern]] as const) {
    for (const [k, v] of Object.entries(pat ?? {})) {
      if (typeof v !== 'number' || !(v > 0)) bad.push(`'${name}.${k}' must be a positive number, got ${JSON.stringify(v)}`);
      try { new RegExp(k); } catch { bad.push(`'${name}' key '${k}' is not a valid regex`); }
    }
  }
  if (typeof c.target_modules === 'string' && c.target_modules !== 'all-linear') {
    try { new RegExp(c.target_modules); } catch { bad.push(`'target_modules' regex ${JSON.stringify(c.target_modules)} is invalid`); }
  }
  if (bad.length) {
    throw new LorakitError('LK_LORA_CONFIG', `${source}: invalid LoRA config:\n  - ${bad.join('\n  - ')}`, {
      details: { problems: bad },
    });
  }
  return c;
}

/** The adapter_config.json PEFT writes (and vLLM/PEFT load). */
export function toPeftJson(c: LoraConfig): Record<string, unknown> {
  return {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: c.base_model_name_or_path, revision: null,
    r: c.r, lora_alpha: c.lora_alpha, lora_dropout: c.lora_dropout, target_modules: c.target_modules, bias: 'none',
    fan_in_fan_out: c.fan_in_fan_out, use_rslora: c.use_rslora, use_dora: false, init_lora_weights: c.init_lora_weights,
    layers_to_transform: c.layers_to_transform, layers_pattern: c.layers_pattern, rank_pattern: c.rank_pattern,
    alpha_pattern: c.alpha_pattern, modules_to_save: null, inference_mode: true,
  };
}
