// HF config.json → a typed, normalised ModelConfig (one field table, as transformers.js getNormalizedConfig). The
// per-family keys, defaults, field rules and accepted activations are in each family's spec (families/); options the
// engine cannot run are refused here, at load, naming the field. Defaults are transformers' own (LlamaConfig,
// MistralConfig, Qwen2Config, GPT2Config) for fields a config.json leaves out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ActivationName } from '../engine/index.js';
import { LorakitError } from '../errors.js';
import { type ModelType, families, isModelType } from './families/index.js';
import type { ConfigReader } from './families/spec.js';

export type { ModelType } from './families/index.js';
export type HiddenAct = ActivationName;
// The tensor tables are derived from the family specs in modules.ts; re-exported here, where callers look for them.
export { expectedParameterCount, expectedWeights } from './modules.js';
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
  /** Unused by families without rotary positions. */
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  readonly normEps: number;
  readonly hiddenAct: HiddenAct;
  readonly tieWordEmbeddings: boolean;
  /** Bias on the q/k/v projections; on the attention output; on the MLP. Each family's rule: families/. */
  readonly attentionBias: boolean;
  readonly attentionOutBias: boolean;
  readonly mlpBias: boolean;
  /** Keys further back than this are masked; null = no window. */
  readonly slidingWindow: number | null;
  readonly bosTokenId?: number;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId?: number;
  /** `torch_dtype` (or `dtype`), e.g. 'bfloat16'; null when absent. */
  readonly torchDtype: string | null;
  /** The parsed config.json, untouched. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export const supportedArchitectures: Readonly<Record<ModelType, readonly string[]>> = Object.fromEntries(
  Object.entries(families).map(([t, f]) => [t, f.architectures]),
) as Record<ModelType, readonly string[]>;

type Raw = Record<string, unknown>;

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
    throw new LorakitError('LK_CONFIG', `cannot read '${file}': ${(e as Error).message}`, {
      cause: e,
      details: { file },
      hint: 'a model folder needs a config.json',
    });
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
  if (!isModelType(mt)) {
    const archNote = archs.length ? ` (architectures ${JSON.stringify(archs)})` : '';
    throw new LorakitError('LK_CONFIG',
      `'${file}': unsupported model_type ${JSON.stringify(raw.model_type)}${archNote}; supported: ${supportedList()}`, {
      details: { file, field: 'model_type', actual: raw.model_type, supported: supportedArchitectures },
    });
  }
  const modelType = mt;
  const unknownArch = archs.find((a) => !supportedArchitectures[modelType].includes(a));
  if (unknownArch !== undefined) {
    throw new LorakitError('LK_CONFIG',
      `'${file}': unsupported architecture '${unknownArch}' for model_type '${modelType}'; supported: ${supportedList()}`, {
      details: { file, field: 'architectures', actual: archs, supported: supportedArchitectures },
    });
  }
  const fam = families[modelType];
  const { keys, defaults } = fam;
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
  if (headDim % 2 !== 0 && fam.rotary) bad(file, 'head_dim', 'even (rotary embeddings rotate pairs)', headDim);
  const intermediateSize = int(keys.inter, typeof defaults.inter === 'number' ? defaults.inter : defaults.inter(hiddenSize));
  const maxPositionEmbeddings = int(keys.maxPos, defaults.maxPos);
  const normEps = pos(keys.eps, defaults.eps);
  const act = raw[keys.act] ?? defaults.act;
  // Only what the forward can build is accepted, so no graph build ever meets an activation it lacks.
  if (typeof act !== 'string' || !(fam.activations as readonly string[]).includes(act))
    bad(file, keys.act, `one of ${fam.activations.join(', ')}`, act);
  const hiddenAct = act as HiddenAct;
  const tieWordEmbeddings = bool('tie_word_embeddings', defaults.tie);

  // rope: transformers ≥ 5 nests theta and scaling in `rope_parameters`; older configs use rope_theta + rope_scaling.
  const ropeParams = (raw.rope_parameters ?? null) as Raw | null;
  const nestedTheta = ropeParams?.rope_theta;
  const ropeTheta = ropeParams && nestedTheta !== undefined
    ? (typeof nestedTheta === 'number' && nestedTheta > 0 ? nestedTheta : bad(file, 'rope_parameters.rope_theta', 'a positive number', nestedTheta))
    : pos('rope_theta', defaults.theta);
  const ropeScaling = !fam.rotary
    ? null
    : parseRopeScaling(
        raw.rope_scaling ?? ropeParams,
        file,
        raw.rope_scaling === undefined || raw.rope_scaling === null ? 'rope_parameters' : 'rope_scaling',
      );

  const reader: ConfigReader = { raw, int, bool, bad: (field, expected, actual) => bad(file, field, expected, actual) };
  const { attentionBias, attentionOutBias, mlpBias, slidingWindow } = fam.fields(reader);

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
