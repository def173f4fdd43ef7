// What one model family is, written once (mlx-lm's one-file-per-model habit): the config.json keys and defaults,
// every tensor by HF name and shape, which of them are linear modules and how they are stored, default LoRA
// targets, LM-head tying and the activations it runs. Config parsing, the loader, expectedWeights/linearModules,
// LoRA target resolution, the trainer and the graph builder all read it; the forward (llama.ts, gpt2.ts) is the
// only other per-family code.
import type { ActivationName } from '../../engine/index.js';
import type { ModelConfig } from '../config.js';

/** config.json key of each common field (families name them differently: hidden_size vs n_embd). */
export interface ConfigKeys {
  readonly vocab: string; readonly hidden: string; readonly layers: string; readonly heads: string;
  /** Absent: no GQA, kv heads = heads. */
  readonly kvHeads?: string;
  readonly inter: string; readonly maxPos: string; readonly eps: string; readonly act: string;
}

/** transformers' default for each common field a config.json leaves out. */
export interface ConfigDefaults {
  readonly vocab: number; readonly hidden: number; readonly layers: number; readonly heads: number;
  /** Absent: num heads. */
  readonly kvHeads?: number;
  /** A number, or derived from the hidden size (GPT-2: 4·n_embd). */
  readonly inter: number | ((hidden: number) => number);
  readonly maxPos: number; readonly eps: number; readonly act: ActivationName; readonly tie: boolean; readonly theta: number;
}

/** Typed reads of the raw config.json for a family's own fields; failures are LK_CONFIG naming the field. */
export interface ConfigReader {
  readonly raw: Readonly<Record<string, unknown>>;
  int(key: string, def: number | undefined, min?: number): number;
  bool(key: string, def: boolean): boolean;
  bad(field: string, expected: string, actual: unknown): never;
}

/** The ModelConfig fields whose rules differ per family. */
export interface FamilyFields {
  readonly attentionBias: boolean;
  readonly attentionOutBias: boolean;
  readonly mlpBias: boolean;
  readonly slidingWindow: number | null;
}

/** One checkpoint tensor, or one linear module (its `.weight`, then its `.bias` when it has one). */
export type TensorEntry =
  | { readonly kind: 'tensor'; readonly name: string; readonly shape: readonly number[] }
  | { readonly kind: 'linear'; readonly name: string; readonly inFeatures: number; readonly outFeatures: number; readonly bias: boolean };

export const tensor = (name: string, shape: readonly number[]): TensorEntry => ({ kind: 'tensor', name, shape });
export const linear = (name: string, inFeatures: number, outFeatures: number, bias: boolean): TensorEntry =>
  ({ kind: 'linear', name, inFeatures, outFeatures, bias });

/** Every tensor in checkpoint order: before the layers, one layer (names relative to layerPrefix), after them. */
export interface FamilyTensors {
  readonly before: readonly TensorEntry[];
  readonly layer: readonly TensorEntry[];
  readonly after: readonly TensorEntry[];
}

export interface FamilySpec {
  /** HF `architectures` entries accepted for this model_type. */
  readonly architectures: readonly string[];
  readonly keys: ConfigKeys;
  readonly defaults: ConfigDefaults;
  /** Activations the forward runs (config parsing refuses others, naming keys.act). */
  readonly activations: readonly ActivationName[];
  /** Rotary positions: head_dim must be even and rope_scaling is read. */
  readonly rotary: boolean;
  /** Reads the per-family fields and refuses config options the forward does not implement. */
  fields(read: ConfigReader): FamilyFields;
  tensors(cfg: ModelConfig): FamilyTensors;
  /** Prefix of layer i's tensor names, e.g. 'model.layers.3'. */
  layerPrefix(i: number): string;
  /** The input token embedding; a tied LM head reads it (else 'lm_head.weight'). */
  readonly embedding: string;
  /** Linear weights stored (in, out) (GPT-2's Conv1D; PEFT's fan_in_fan_out), else (out, in). */
  readonly fanInFanOut: boolean;
  /** PEFT's default target_modules (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
  readonly defaultLoraTargets: readonly string[];
  /** A prefix checkpoints may leave out (GPT-2 saved from GPT2Model has no 'transformer.'). */
  readonly optionalPrefix?: string;
}
