// HF config.json → a typed, normalised ModelConfig (one field table, as transformers.js getNormalizedConfig),
// plus the tensors each architecture expects, by their exact HF checkpoint names and shapes.
// Supported: llama, mistral, qwen2 (one decoder, see llama.ts) and gpt2. Defaults are transformers' own
// (LlamaConfig, MistralConfig, Qwen2Config, GPT2Config) for fields a config.json leaves out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LorakitError } from '../errors.js';

export type ModelType = 'llama' | 'mistral' | 'qwen2' | 'gpt2';
export type HiddenAct = 'silu' | 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu_fast' | 'quick_gelu' | 'relu';
export type RopeScaling =
  | null
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

export interface ModelConfig {
  /** The config.json this came from (errors name it). */
  readonly file: string;
  readonly modelType: ModelType;
  readonly architectures: readonly string[];
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly maxPositionEmbeddings: number;
  /** Unused by gpt2 (learned positions). */
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  readonly normEps: number;
  readonly hiddenAct: HiddenAct;
  readonly tieWordEmbeddings: boolean;
  /** Bias on q_proj, k_proj, v_proj (qwen2 always; llama/mistral when `attention_bias`). gpt2: true (c_attn). */
  readonly attentionBias: boolean;
  /** Bias on o_proj (llama `attention_bias`; never for qwen2/mistral). gpt2: true (c_proj). */
  readonly attentionOutBias: boolean;
  /** Bias on gate/up/down_proj (llama `mlp_bias`). gpt2: true. */
  readonly mlpBias: boolean;
  /** Keys further back than this are masked (mistral; qwen2 only with use_sliding_window); null = no window. */
  readonly slidingWindow: number | null;
  readonly bosTokenId?: number;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId?: number;
  /** `torch_dtype` (or `dtype`), e.g. 'bfloat16'; null when absent. */
  readonly torchDtype: string | null;
  /** The parsed config.json, untouched. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export const supportedArchitectures: Readonly<Record<ModelType, readonly string[]>> = {
  llama: ['LlamaForCausalLM'],
  mistral: ['MistralForCausalLM'],
  qwen2: ['Qwen2ForCausalLM'],
  gpt2: ['GPT2LMHeadModel'],
};
const hiddenActs: readonly HiddenAct[] = ['silu', 'gelu', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'quick_gelu', 'relu'];

type Raw = Record<string, unknown>;

/** One row per field: the config.json key(s) per family and the transformers default. */
interface Family {
  keys: { vocab: string; hidden: string; layers: string; heads: string; kvHeads?: string; inter?: string; maxPos: string; eps: string; act: string };
  defaults: { vocab: number; hidden: number; layers: number; heads: number; kvHeads?: number; inter?: number; maxPos: number; eps: number; act: HiddenAct; tie: boolean; theta: number };
}
const decoderKeys = {
  vocab: 'vocab_size', hidden: 'hidden_size', layers: 'num_hidden_layers', heads: 'num_attention_heads',
  kvHeads: 'num_key_value_heads', inter: 'intermediate_size', maxPos: 'max_position_embeddings', eps: 'rms_norm_eps', act: 'hidden_act',
};
const families: Record<ModelType, Family> = {
  llama: { keys: decoderKeys, defaults: { vocab: 32000, hidden: 4096, layers: 32, heads: 32, inter: 11008, maxPos: 2048, eps: 1e-6, act: 'silu', tie: false, theta: 10000 } },
  mistral: { keys: decoderKeys, defaults: { vocab: 32000, hidden: 4096, layers: 32, heads: 32, kvHeads: 8, inter: 14336, maxPos: 131072, eps: 1e-6, act: 'silu', tie: false, theta: 10000 } },
  qwen2: { keys: decoderKeys, defaults: { vocab: 151936, hidden: 4096, layers: 32, heads: 32, inter: 22016, maxPos: 32768, eps: 1e-6, act: 'silu', tie: false, theta: 10000 } },
  gpt2: {
    keys: { vocab: 'vocab_size', hidden: 'n_embd', layers: 'n_layer', heads: 'n_head', inter: 'n_inner', maxPos: 'n_positions', eps: 'layer_norm_epsilon', act: 'activation_function' },
    defaults: { vocab: 50257, hidden: 768, layers: 12, heads: 12, maxPos: 1024, eps: 1e-5, act: 'gelu_new', tie: true, theta: 10000 },
  },
};

function bad(file: string, field: string, expected: string, actual: unknown): never {
  throw new LorakitError('LK_CONFIG', `'${file}': field '${field}' must be ${expected}, got ${JSON.stringify(actual)}`, {
    details: { file, field, expected, actual },
  });
}

function ids(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}

function supportedList(): string {
  return (Object.keys(supportedArchitectures) as ModelType[]).map((t) => `${t} (${supportedArchitectures[t].join(', ')})`).join(', ');
}

/** Reads `<modelDir>/config.json` (or a path to a .json file) and normalises it. */
export function loadConfig(modelDirOrFile: string): ModelConfig {
  const file = modelDirOrFile.endsWith('.json') ? modelDirOrFile : join(modelDirOrFile, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LorakitError('LK_CONFIG', `cannot read '${file}': ${(e as Error).message}`, { cause: e, details: { file }, hint: 'a model folder needs a config.json' });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new LorakitError('LK_CONFIG', `'${file}' is not valid JSON: ${(e as Error).message}`, { cause: e, details: { file } });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad(file, '(top level)', 'a JSON object', raw);
  return normalizeConfig(raw as Raw, file);
}

/** Normalises a parsed config.json; `file` is only used in error messages. */
export function normalizeConfig(raw: Raw, file = 'config.json'): ModelConfig {
  const archs = raw.architectures === undefined || raw.architectures === null ? [] : raw.architectures;
  if (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string')) bad(file, 'architectures', 'a list of strings', archs);
  const mt = raw.model_type ?? (Object.keys(supportedArchitectures) as ModelType[]).find((t) => supportedArchitectures[t].includes(archs[0]));
  if (typeof mt !== 'string' || !(mt in families)) {
    throw new LorakitError('LK_CONFIG', `'${file}': unsupported model_type ${JSON.stringify(raw.model_type)}${archs.length ? ` (architectures ${JSON.stringify(archs)})` : ''}; supported: ${supportedList()}`, {
      details: { file, field: 'model_type', actual: raw.model_type, supported: supportedArchitectures },
    });
  }
  const modelType = mt as ModelType;
  const unknownArch = archs.find((a) => !supportedArchitectures[modelType].includes(a));
  if (unknownArch !== undefined) {
    throw new LorakitError('LK_CONFIG', `'${file}': unsupported architecture '${unknownArch}' for model_type '${modelType}'; supported: ${supportedList()}`, {
      details: { file, field: 'architectures', actual: archs, supported: supportedArchitectures },
    });
  }
  const { keys, defaults } = families[modelType];
  const int = (key: string, def: number | undefined, min = 1): number => {
    const v = raw[key] ?? def;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) bad(file, key, `an integer >= ${min}`, raw[key]);
    return v;
  };
  const pos = (key: string, def: number): number => {
    const v = raw[key] ?? def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(file, key, 'a positive number', raw[key]);
    return v;
  };
  const bool = (key: string, def: boolean): boolean => {
    const v = raw[key] ?? def;
    if (typeof v !== 'boolean') bad(file, key, 'true or false', raw[key]);
    return v;
  };

  const vocabSize = int(keys.vocab, defaults.vocab);
  const hiddenSize = int(keys.hidden, defaults.hidden);
  const numLayers = int(keys.layers, defaults.layers);
  const numHeads = int(keys.heads, defaults.heads);
  const numKvHeads = keys.kvHeads ? int(keys.kvHeads, defaults.kvHeads ?? numHeads) : numHeads;
  if (numHeads % numKvHeads !== 0) bad(file, keys.kvHeads ?? keys.heads, `a divisor of ${keys.heads} (${numHeads})`, numKvHeads);
  const headDim = raw.head_dim === undefined || raw.head_dim === null ? hiddenSize / numHeads : int('head_dim', undefined);
  if (!Number.isInteger(headDim)) bad(file, keys.hidden, `a multiple of ${keys.heads} (${numHeads})`, hiddenSize);
  if (headDim % 2 !== 0 && modelType !== 'gpt2') bad(file, 'head_dim', 'even (rotary embeddings rotate pairs)', headDim);
  const intermediateSize = modelType === 'gpt2'
    ? (raw.n_inner === undefined || raw.n_inner === null ? 4 * hiddenSize : int('n_inner', undefined))
    : int(keys.inter!, defaults.inter);
  const maxPositionEmbeddings = int(keys.maxPos, defaults.maxPos);
  const normEps = pos(keys.eps, defaults.eps);
  const act = raw[keys.act] ?? defaults.act;
  if (typeof act !== 'string' || !(hiddenActs as readonly string[]).includes(act)) bad(file, keys.act, `one of ${hiddenActs.join(', ')}`, act);
  const hiddenAct = act as HiddenAct;
  const tieWordEmbeddings = bool('tie_word_embeddings', defaults.tie);

  // rope: transformers ≥ 5 nests theta and scaling in `rope_parameters`; older configs use rope_theta + rope_scaling.
  const ropeParams = (raw.rope_parameters ?? null) as Raw | null;
  const ropeTheta = ropeParams && ropeParams.rope_theta !== undefined
    ? (typeof ropeParams.rope_theta === 'number' && ropeParams.rope_theta > 0 ? ropeParams.rope_theta : bad(file, 'rope_parameters.rope_theta', 'a positive number', ropeParams.rope_theta))
    : pos('rope_theta', defaults.theta);
  const ropeScaling = modelType === 'gpt2' ? null : parseRopeScaling(raw.rope_scaling ?? ropeParams, file, raw.rope_scaling === undefined || raw.rope_scaling === null ? 'rope_parameters' : 'rope_scaling');

  let attentionBias: boolean, attentionOutBias: boolean, mlpBias: boolean;
  if (modelType === 'gpt2') {
    attentionBias = attentionOutBias = mlpBias = true;
    if (raw.scale_attn_by_inverse_layer_idx === true) bad(file, 'scale_attn_by_inverse_layer_idx', 'false (not supported)', true);
    if (raw.scale_attn_weights === false) bad(file, 'scale_attn_weights', 'true (not supported otherwise)', false);
  } else if (modelType === 'qwen2') {
    attentionBias = true; attentionOutBias = false; mlpBias = false;
  } else {
    attentionBias = attentionOutBias = bool('attention_bias', false);
    mlpBias = modelType === 'llama' ? bool('mlp_bias', false) : false;
  }

  let slidingWindow: number | null = null;
  if (modelType === 'mistral') {
    slidingWindow = raw.sliding_window === null ? null : int('sliding_window', 4096);
  } else if (modelType === 'qwen2' && bool('use_sliding_window', false)) {
    slidingWindow = raw.sliding_window === null ? null : int('sliding_window', 4096);
  }

  const eosTokenIds = ids(raw.eos_token_id);
  const bos = ids(raw.bos_token_id)[0];
  const pad = ids(raw.pad_token_id)[0];
  const dt = raw.torch_dtype ?? raw.dtype ?? null;
  return {
    file, modelType, architectures: archs as string[], vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, headDim,
    intermediateSize, maxPositionEmbeddings, ropeTheta, ropeScaling, normEps, hiddenAct, tieWordEmbeddings,
    attentionBias, attentionOutBias, mlpBias, slidingWindow,
    ...(bos !== undefined ? { bosTokenId: bos } : {}), eosTokenIds, ...(pad !== undefined ? { padTokenId: pad } : {}),
    torchDtype: typeof dt === 'string' ? dt : null, raw,
  };
}

function parseRopeScaling(v: unknown, file: string, field: string): RopeScaling {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) bad(file, field, 'null or an object', v);
  const r = v as Raw;
  const type = r.rope_type ?? r.type ?? 'default';
  const num = (k: string): number => {
    const x = r[k];
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) bad(file, `${field}.${k}`, 'a positive number', x);
    return x;
  };
  if (type === 'default') return null;
  if (type === 'linear') return { type: 'linear', factor: num('factor') };
  if (type === 'llama3') {
    return {
      type: 'llama3', factor: num('factor'), lowFreqFactor: num('low_freq_factor'), highFreqFactor: num('high_freq_factor'),
      originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
    };
  }
  return bad(file, `${field}.rope_type`, "'default', 'linear' or 'llama3'", type);
}

/**
 * Every tensor the architecture needs, by HF checkpoint name, with its shape. GPT-2 names carry the
 * 'transformer.' prefix (checkpoint.ts also accepts them without it). Buffers (gpt2 attn.bias/masked_bias,
 * rotary inv_freq) are not listed: loaders ignore them.
 */
export function expectedWeights(cfg: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const H = cfg.hiddenSize, V = cfg.vocabSize, I = cfg.intermediateSize;
  if (cfg.modelType === 'gpt2') {
    m.set('transformer.wte.weight', [V, H]);
    m.set('transformer.wpe.weight', [cfg.maxPositionEmbeddings, H]);
    for (let i = 0; i < cfg.numLayers; i++) {
      const p = `transformer.h.${i}`;
      // Conv1D stores W as (in, out): y = x·W + b.
      const set = (name: string, shape: number[]): void => { m.set(`${p}.${name}`, shape); };
      set('ln_1.weight', [H]); set('ln_1.bias', [H]);
      set('attn.c_attn.weight', [H, 3 * H]); set('attn.c_attn.bias', [3 * H]);
      set('attn.c_proj.weight', [H, H]); set('attn.c_proj.bias', [H]);
      set('ln_2.weight', [H]); set('ln_2.bias', [H]);
      set('mlp.c_fc.weight', [H, I]); set('mlp.c_fc.bias', [I]);
      set('mlp.c_proj.weight', [I, H]); set('mlp.c_proj.bias', [H]);
    }
    m.set('transformer.ln_f.weight', [H]);
    m.set('transformer.ln_f.bias', [H]);
    if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [V, H]);
    return m;
  }
  const q = cfg.numHeads * cfg.headDim, kv = cfg.numKvHeads * cfg.headDim;
  m.set('model.embed_tokens.weight', [V, H]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    const lin = (name: string, out: number, inp: number, bias: boolean): void => {
      m.set(`${p}.${name}.weight`, [out, inp]); // Linear stores W as (out, in): y = x·Wᵀ + b.
      if (bias) m.set(`${p}.${name}.bias`, [out]);
    };
    lin('self_attn.q_proj', q, H, cfg.attentionBias);
    lin('self_attn.k_proj', kv, H, cfg.attentionBias);
    lin('self_attn.v_proj', kv, H, cfg.attentionBias);
    lin('self_attn.o_proj', H, q, cfg.attentionOutBias);
    lin('mlp.gate_proj', I, H, cfg.mlpBias);
    lin('mlp.up_proj', I, H, cfg.mlpBias);
    lin('mlp.down_proj', H, I, cfg.mlpBias);
    m.set(`${p}.input_layernorm.weight`, [H]);
    m.set(`${p}.post_attention_layernorm.weight`, [H]);
  }
  m.set('model.norm.weight', [H]);
  if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [V, H]);
  return m;
}

/** Parameter count implied by the config (tied embeddings counted once). */
export function expectedParameterCount(cfg: ModelConfig): number {
  let n = 0;
  for (const s of expectedWeights(cfg).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}
